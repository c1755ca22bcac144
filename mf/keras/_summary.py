"""``Model.summary()``: Keras 3's table, laid out the way its ``rich`` table renders
in plain text (column widths, word wrapping, ``…`` truncation, box characters)."""

import re
import shutil

_WORD = re.compile(r"\s*\S+\s*")


def _divide_line(text, width):
    """Offsets at which to break ``text`` into lines of ``width`` cells (no folding)."""
    breaks = []
    offset = 0
    position = 0
    match = _WORD.match(text, position)
    while match is not None:
        start, end = match.span()
        word = match.group(0)
        word_length = len(word.rstrip())
        if width - offset >= word_length:
            offset += len(word)
        elif word_length > width:
            if start:
                breaks.append(start)
            offset = len(word)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
        match = _WORD.match(text, end)
    return breaks


def _truncate(line, width, pad=False):
    length = len(line)
    if length > width:
        line = line[:width - 1] + "…"
    if pad and length < width:
        line += " " * (width - length)
    return line


def _wrap(text, width, justify):
    """Lines of exactly ``width`` cells, wrapped and justified as rich does."""
    offsets = [0, *_divide_line(text, width), len(text)]
    lines = []
    for start, end in zip(offsets, offsets[1:]):
        line = text[start:end]
        if len(line) > width:  # drop trailing whitespace beyond the width
            trailing = len(line) - len(line.rstrip())
            line = line[:len(line) - min(trailing, len(line) - width)]
        if justify == "left":
            line = _truncate(line, width, pad=True)
        elif justify == "right":
            line = _truncate(line.rstrip(), width)
            line = " " * (width - len(line)) + line
        else:  # center
            line = _truncate(line.rstrip(), width)
            line = " " * ((width - len(line)) // 2) + line
            line += " " * (width - len(line))
        lines.append(_truncate(line, width))
    return lines


def _ratio_reduce(total, ratios, maximums, values):
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining = total
    result = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * remaining / total_ratio))
            result.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            result.append(value)
    return result


def _ratio_distribute(total, ratios):
    total_ratio = sum(ratios)
    remaining = total
    result = []
    for ratio in ratios:
        distributed = -(-ratio * remaining // total_ratio) if total_ratio > 0 else remaining
        result.append(distributed)
        total_ratio -= ratio
        remaining -= distributed
    return result


def _cell_widths(column_widths, line_length):
    """Widths (padding included) of fixed-width columns in a table ``line_length`` wide."""
    max_width = line_length - (len(column_widths) + 1)
    widths = [min(w + 2, max_width) for w in column_widths]
    total = sum(widths)
    if total > max_width:
        widths = _ratio_reduce(total - max_width, [1] * len(widths), widths, widths)
        widths = [min(w + 2, width) for w, width in zip(column_widths, widths)]
        total = sum(widths)
    if total < max_width:
        widths = [w + p for w, p in zip(widths, _ratio_distribute(max_width - total, widths))]
    return widths


def _memory(n_bytes):
    for unit in ["B", "KB", "MB", "GB", "TB", "PB"]:
        if n_bytes / 1024 < 1:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} PB"


def _format_shape(shape):
    return f"({', '.join(str(d) for d in shape)})"


def render(model, line_length=None, positions=None, show_trainable=False, layer_range=None):
    """The text ``Model.summary()`` prints (lines ending in newlines)."""
    layers = model.layers
    sequential_like = model._sequential_like()
    if sequential_like:
        default_length = 88
        positions = positions or [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        justify = ["left", "left", "right"]
    else:
        default_length = 108
        positions = positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        justify = ["left", "left", "right", "left"]
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        justify.append("center")
    default_length = min(default_length, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default_length
    column_widths = []
    current = 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        column_widths.append(width)
        current += width
    widths = _cell_widths(column_widths, line_length)

    nodes = model._nodes
    rows = []
    for layer in _layer_slice(layers, layer_range):
        shape = _format_shape(layer._inbound_nodes[-1].output.shape)
        fields = [f"{layer.name} ({type(layer).__name__})", shape, f"{layer.count_params():,}"]
        if not sequential_like:
            links = []
            for node in layer._inbound_nodes:
                if node in nodes:
                    for t in node.input_tensors:
                        source, node_index, tensor_index = t._keras_history
                        links.append(f"{source.name}[{node_index}][{tensor_index}]")
            fields.append(", ".join(links) or "-")
        if show_trainable:
            fields.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows.append(fields)

    def render_row(cells, left, sep, right):
        wrapped = [_wrap(text, w - 2, j) for text, w, j in zip(cells, widths, justify)]
        height = max(len(c) for c in wrapped)
        out = []
        for k in range(height):
            parts = [" " + (c[k] if k < len(c) else " " * (w - 2)) + " "
                     for c, w in zip(wrapped, widths)]
            out.append(left + sep.join(parts) + right)
        return out

    lines = [f'Model: "{model.name}"',
             "┏" + "┳".join("━" * w for w in widths) + "┓"]
    lines += render_row(header, "┃", "┃", "┃")
    lines.append("┡" + "╇".join("━" * w for w in widths) + "┩")
    for k, fields in enumerate(rows):
        if k:
            lines.append("├" + "┼".join("─" * w for w in widths) + "┤")
        lines += render_row(fields, "│", "│", "│")
    lines.append("└" + "┴".join("─" * w for w in widths) + "┘")

    trainable = sum(int(v.value.size) for v in model.trainable_weights)
    frozen = sum(int(v.value.size) for v in model.non_trainable_weights)
    optimizer = model._optimizer_param_count()
    total = trainable + frozen + (optimizer[0] if optimizer else 0)
    total_bytes = 4 * (trainable + frozen) + (optimizer[1] if optimizer else 0)
    lines.append(f" Total params: {total:,} ({_memory(total_bytes)})")
    lines.append(f" Trainable params: {trainable:,} ({_memory(4 * trainable)})")
    lines.append(f" Non-trainable params: {frozen:,} ({_memory(4 * frozen)})")
    if optimizer:
        lines.append(f" Optimizer params: {optimizer[0]:,} ({_memory(optimizer[1])})")
    return "".join(line + "\n" for line in lines)


def _layer_slice(layers, layer_range):
    if layer_range is None:
        return layers
    if len(layer_range) != 2 or not all(isinstance(s, str) for s in layer_range):
        raise ValueError(f"layer_range must be a list or tuple of 2 strings, got {layer_range!r}")
    lower = [k for k, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [k for k, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError("Passed layer_names do not match the layer names in the model. "
                         f"Received: {layer_range}")
    if min(lower) > max(upper):
        return layers[min(upper):max(lower) + 1]
    return layers[min(lower):max(upper) + 1]
