// ember explain playground: the size rules of ember.nn._shapes, ported for 2-d layers, and the
// page that draws them. DATA (embedded by ember/explain/playground.py) carries what is taken from
// ember rather than written twice: error messages, each layer's arguments, the formulas, ranges.
(function () {
"use strict";

var DATA = JSON.parse(document.getElementById("ember-data").textContent);
var AXES = ["H", "W"];

// -- size rules (ember/nn/_shapes.py) ------------------------------------------------------------

function floorDiv(a, b) { return Math.floor(a / b); }

function convOutputSize(size, k, s, p, d) {            // _shapes.conv_output_size
  return floorDiv(size + 2 * p - d * (k - 1) - 1, s) + 1;
}

function poolOutputSize(size, k, s, p, d, ceil) {      // _shapes.pool_output_size
  var out = floorDiv(size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0), s) + 1;
  // ceil_mode: a last window that would start in the right padding is dropped (pytorch#45357)
  if (ceil && (out - 1) * s >= size + p) out -= 1;
  return out;
}

function convTransposeOutputSize(size, k, s, p, d, op) {   // _shapes.conv_transpose_output_size
  return (size - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

function unpoolOutputSize(size, k, s, p) {             // _shapes.unpool_output_shape's default
  return (size - 1) * s + k - 2 * p;
}

// An ember error: the message template from DATA with its {slots} filled in.
function EmberError(key, values) {
  var m = DATA.messages[key];
  var text = m.text.replace(/\{(\w+)\}/g, function (_, name) {
    if (!(name in values)) throw new Error("message " + key + " needs a value for " + name);
    return String(values[name]);
  });
  return {key: key, type: m.type, message: text};
}

function pairValues(prefix, values) {
  var out = {};
  values.forEach(function (v, i) { out[prefix + i] = v; });
  return out;
}

function merge() {
  var out = {};
  for (var i = 0; i < arguments.length; i++)
    for (var k in arguments[i]) out[k] = arguments[i][k];
  return out;
}

// An int or a 1- or 2-list as an (H, W) pair, as the layers read their arguments.
function pair(v) {
  if (!Array.isArray(v)) return [v, v];
  return v.length === 1 ? [v[0], v[0]] : [v[0], v[1]];
}

// The configuration with every argument the layer takes, as pairs; defaults as ember.nn's.
function normalise(config) {
  var layer = DATA.layers[config.layer];
  if (!layer) throw new Error("unknown layer " + config.layer);
  var has = function (k) { return layer.knobs.indexOf(k) >= 0; };
  var pool = config.layer !== "conv" && config.layer !== "conv_transpose";
  var k = pair(config.kernel_size);
  // Conv2d also takes padding='same' or 'valid' (the page's padding_string)
  var named = config.layer !== "conv" ? null
    : typeof config.padding === "string" ? config.padding : config.padding_string || null;
  var c = {
    layer: config.layer, cls: layer.cls, channels: config.channels || 1, input: pair(config.input),
    out_channels: has("out_channels") ? config.out_channels : (config.channels || 1),
    kernel_size: k,
    stride: config.stride === undefined || config.stride === null ? (pool ? k : [1, 1]) : pair(config.stride),
    padding: named ? [0, 0] : pair(config.padding || 0), padding_string: named,
    dilation: has("dilation") ? pair(config.dilation === undefined ? 1 : config.dilation) : [1, 1],
    output_padding: has("output_padding") ? pair(config.output_padding || 0) : [0, 0],
    groups: has("groups") ? (config.groups === undefined ? 1 : config.groups) : 1,
    ceil_mode: has("ceil_mode") ? !!config.ceil_mode : false
  };
  // padding before and after each axis; 'same' splits dilation*(kernel-1) with the odd cell
  // after (_shapes.same_padding, TRAPS.md #7)
  c.pad_lo = c.padding.slice(); c.pad_hi = c.padding.slice();
  if (named === "same") [0, 1].forEach(function (i) {
    var total = c.dilation[i] * (k[i] - 1);
    c.pad_lo[i] = Math.floor(total / 2); c.pad_hi[i] = total - c.pad_lo[i];
  });
  return c;
}

function formula(key, axis) { return DATA.formulas[key].replace(/\{d\}/g, axis); }

// One spatial dim's worked formula, as ember.explain.sizes writes it (Dim.filled/value/final).
function dimOf(c, i) {
  var n = c.input[i], k = c.kernel_size[i], s = c.stride[i], p = c.padding[i];
  var d = c.dilation[i], op = c.output_padding[i], axis = AXES[i];
  var dim = {name: axis, rule: null};
  if (c.layer === "conv" && c.padding_string === "same") {
    var lo = c.pad_lo[i], hi = c.pad_hi[i];
    dim.formula = formula("conv_same", axis);
    dim.filled = "floor((" + n + " + " + lo + " + " + hi + " - " + d + "*(" + k + "-1) - 1) / " + s + ") + 1";
    // the formula with lo on both sides, on an input longer by the extra cells after it
    dim.value = dim.final = convOutputSize(n + hi - lo, k, s, lo, d);
  } else if (c.layer === "conv") {
    dim.formula = formula("conv", axis);
    dim.filled = "floor((" + n + " + 2*" + p + " - " + d + "*(" + k + "-1) - 1) / " + s + ") + 1";
    dim.value = dim.final = convOutputSize(n, k, s, p, d);
  } else if (c.layer === "conv_transpose") {
    dim.formula = formula("conv_transpose", axis);
    dim.filled = "(" + n + " - 1)*" + s + " - 2*" + p + " + " + d + "*(" + k + "-1) + " + op + " + 1";
    dim.value = dim.final = convTransposeOutputSize(n, k, s, p, d, op);
  } else if (c.layer === "max_unpool") {
    dim.formula = formula("max_unpool", axis);
    dim.filled = "(" + n + " - 1)*" + s + " - 2*" + p + " + " + k;
    dim.value = dim.final = unpoolOutputSize(n, k, s, p);
  } else {
    var ceil = c.ceil_mode, family = c.layer;
    dim.formula = formula(family + (ceil ? "_ceil" : ""), axis);
    var inner = family === "max_pool" ? n + " + 2*" + p + " - " + d + "*(" + k + "-1) - 1"
                                      : n + " + 2*" + p + " - " + k;
    dim.filled = (ceil ? "ceil" : "floor") + "((" + inner + ") / " + s + ") + 1";
    dim.final = poolOutputSize(n, k, s, p, d, ceil);
    // ceil(a / s) == floor((a + s-1) / s): the size before the last-window rule
    dim.value = ceil ? poolOutputSize(n + s - 1, k, s, p, d, false) : dim.final;
    if (ceil && dim.value !== poolOutputSize(n, k, s, p, d, false)) {
      var start = (dim.value - 1) * s, end = n + p, kept = dim.final === dim.value;
      dim.rule = "last window starts at (" + dim.value + "-1)*" + s + " = " + start + " " +
                 (kept ? "<" : ">=") + " " + axis + "_in + padding = " + end + ": " +
                 (kept ? "kept" : "dropped -> " + dim.final);
    }
  }
  return dim;
}

// The first error ember raises for this configuration, in ember's order of checks, or null.
function firstError(c, dims) {
  var outs = dims.map(function (d) { return d.final; });
  if (c.layer === "conv" || c.layer === "conv_transpose") {
    // _ConvNd.__init__
    if (c.channels % c.groups !== 0) return EmberError("in_channels_groups", {});
    if (c.out_channels % c.groups !== 0) return EmberError("out_channels_groups", {});
    if (c.padding_string === "same" && (c.stride[0] !== 1 || c.stride[1] !== 1))
      return EmberError("same_strided", {});
    if (c.layer === "conv") {                         // _shapes._check_conv_operands
      var padded = [0, 1].map(function (i) { return c.input[i] + c.pad_lo[i] + c.pad_hi[i]; });
      var span = [0, 1].map(function (i) { return c.dilation[i] * (c.kernel_size[i] - 1) + 1; });
      if (padded[0] < span[0] || padded[1] < span[1])
        return EmberError("conv_kernel_too_large", merge(pairValues("padded", padded), pairValues("span", span)));
      return null;
    }
    for (var i = 0; i < 2; i++) {                     // _check_conv_transpose_operands
      if (c.output_padding[i] >= c.stride[i] && c.output_padding[i] >= c.dilation[i])
        return EmberError("output_padding", merge(pairValues("output_padding", c.output_padding),
                          pairValues("stride", c.stride), pairValues("dilation", c.dilation)));
    }
    if (outs[0] <= 0 || outs[1] <= 0)
      return EmberError("transpose_output_too_small", merge(pairValues("input", c.input), pairValues("output", outs)));
    return null;
  }
  if (c.layer === "max_unpool") {
    for (var j = 0; j < 2; j++)
      if (outs[j] < 0) return EmberError("unpool_negative", {dim: j, value: outs[j]});
    return null;
  }
  // pooling: _shapes.check_pool_args, then pool_output_shape
  for (var a = 0; a < 2; a++) {
    var k = c.kernel_size[a], p = c.padding[a], d = c.dilation[a];
    if (p > floorDiv((k - 1) * d + 1, 2))
      return EmberError("pool_pad_effective", {pad: p, kernel: k, dilation: d});
  }
  if (c.padding[0] > floorDiv(c.kernel_size[0], 2) || c.padding[1] > floorDiv(c.kernel_size[1], 2))
    return EmberError("pool_pad_half", merge(pairValues("pad", c.padding), pairValues("kernel", c.kernel_size)));
  if (outs[0] < 1 || outs[1] < 1)
    return EmberError("pool_output_too_small", merge({channels: c.channels}, pairValues("input", c.input),
                                                     pairValues("output", outs)));
  return null;
}

// {shape, dims, error}: what ember's layer does with a (1, channels, H, W) input of zeros.
function compute(config) {
  var c = normalise(config);
  var dims = [0, 1].map(function (i) { return dimOf(c, i); });
  var error = firstError(c, dims);
  var channels = c.layer === "conv" || c.layer === "conv_transpose" ? c.out_channels : c.channels;
  return {layer: c.layer, cls: c.cls, config: c, dims: dims, error: error,
          shape: error ? null : [1, channels, dims[0].final, dims[1].final]};
}

// -- what the pictures need ----------------------------------------------------------------------

// How many kernel taps land on each output cell of a transposed convolution along one axis
// (a ones kernel on a ones input): the 1-d overlap pattern; the 2-d one is their outer product.
function overlapCounts1d(n, k, s, p, d, out) {
  var counts = [];
  for (var j = 0; j < out; j++) counts.push(0);
  for (var i = 0; i < n; i++)
    for (var a = 0; a < k; a++) {
      var j2 = i * s + a * d - p;
      if (j2 >= 0 && j2 < out) counts[j2] += 1;
    }
  return counts;
}

function overlapCounts(config) {
  var r = compute(config), c = r.config;
  if (r.error || c.layer !== "conv_transpose") return null;
  var axes = [0, 1].map(function (i) {
    return overlapCounts1d(c.input[i], c.kernel_size[i], c.stride[i], c.padding[i], c.dilation[i], r.dims[i].final);
  });
  return axes[0].map(function (ch) { return axes[1].map(function (cw) { return ch * cw; }); });
}

// The matrix C of the convolution (rows: outputs, columns: inputs, both row-major), one channel,
// entries 1 + the kernel tap's row-major index (0: no tap); the transposed convolution gets C^T,
// with C the convolution from its output size back to its input size.
function convMatrix(config) {
  var r = compute(config), c = r.config;
  if (r.error || (c.layer !== "conv" && c.layer !== "conv_transpose")) return null;
  var transposed = c.layer === "conv_transpose";
  var src = transposed ? [r.dims[0].final, r.dims[1].final] : c.input;
  var dst = transposed ? c.input : [r.dims[0].final, r.dims[1].final];
  var rows = dst[0] * dst[1], cols = src[0] * src[1];
  if (rows > DATA.matrix_limit || cols > DATA.matrix_limit) return null;
  var m = [];
  for (var i = 0; i < rows; i++) { m.push([]); for (var j = 0; j < cols; j++) m[i].push(0); }
  var kh = c.kernel_size[0], kw = c.kernel_size[1];
  for (var oh = 0; oh < dst[0]; oh++) for (var ow = 0; ow < dst[1]; ow++)
    for (var a = 0; a < kh; a++) for (var b = 0; b < kw; b++) {
      var ih = oh * c.stride[0] - c.pad_lo[0] + a * c.dilation[0];
      var iw = ow * c.stride[1] - c.pad_lo[1] + b * c.dilation[1];
      if (ih < 0 || iw < 0 || ih >= src[0] || iw >= src[1]) continue;
      m[oh * dst[1] + ow][ih * src[1] + iw] = a * kw + b + 1;
    }
  if (!transposed) return m;
  return m[0].map(function (_, j) { return m.map(function (row) { return row[j]; }); });
}

// -- drawing -------------------------------------------------------------------------------------

var COLORS = {input: "#ffffff", pad: "#d9d9d9", overhang: "#fff4e5", grid: "#9aa0a6", tap: "rgba(37,99,235,0.55)",
              window: "#1d4ed8", out: "#ecfdf5", current: "#16a34a", text: "#1f2937"};

// The side of a grid cell in CSS pixels: cols across width, rows within maxHeight, 2 to 28
// (a transposed convolution with a large stride can make an output of 180 cells a side).
function cellSize(width, cols, rows, maxHeight) {
  return Math.max(2, Math.min(28, Math.floor(width / cols), Math.floor(maxHeight / rows)));
}

// The cells of the two grids for the current step: where each is drawn and how it is coloured.
function scene(r, step) {
  var c = r.config, out = [r.dims[0].final, r.dims[1].final];
  var src = {rows: 0, cols: 0, kind: null, marks: {}}, dst = {rows: out[0], cols: out[1], kind: null, marks: {}};
  var caption = "";
  var key = function (i, j) { return i + "," + j; };
  if (c.layer === "conv_transpose" || c.layer === "max_unpool") {
    // step over input cells; each scatters its kernel window into the output
    var n = c.input[0] * c.input[1], at = ((step % n) + n) % n, ih = Math.floor(at / c.input[1]), iw = at % c.input[1];
    src.rows = c.input[0]; src.cols = c.input[1]; src.kind = function () { return "input"; };
    src.marks[key(ih, iw)] = "current";
    // the output drawn with a border of padding[i] cells: the taps that padding crops land there
    var pad = c.padding, counts = c.layer === "conv_transpose" ? overlapCounts(c) : null;
    dst.rows = out[0] + 2 * pad[0]; dst.cols = out[1] + 2 * pad[1];
    var inside = function (i, j) { return i >= pad[0] && j >= pad[1] && i < pad[0] + out[0] && j < pad[1] + out[1]; };
    dst.kind = function (i, j) { return inside(i, j) ? "out" : "pad"; };
    if (counts) {
      dst.label = function (i, j) { return inside(i, j) ? counts[i - pad[0]][j - pad[1]] : null; };
      dst.maxLabel = Math.max(1, Math.max.apply(null, [].concat.apply([], counts)));
    }
    var k = c.kernel_size, kept = 0, total = 0;
    for (var a = 0; a < k[0]; a++) for (var b = 0; b < k[1]; b++) {
      var oh = ih * c.stride[0] + a * c.dilation[0], ow = iw * c.stride[1] + b * c.dilation[1];
      if (oh >= dst.rows || ow >= dst.cols) continue;    // past output_padding's last cell
      dst.marks[key(oh, ow)] = "tap"; total++;
      if (inside(oh, ow)) kept++;
    }
    caption = (c.layer === "conv_transpose"
      ? "input (" + ih + ", " + iw + ") adds its value times the kernel to " + kept + " output cells"
      : "input (" + ih + ", " + iw + ") goes back to one of its window's " + kept + " cells in the output")
      + (total > kept ? "; padding crops the other " + (total - kept) + " (grey)" : "");
    return {src: src, dst: dst, caption: caption, steps: n};
  }
  // convolution and pooling: step over output cells; each reads a window of the padded input
  var p = c.pad_lo, s = c.stride, d = c.dilation, kk = c.kernel_size;
  var padded = [c.input[0] + p[0] + c.pad_hi[0], c.input[1] + p[1] + c.pad_hi[1]];
  var reach = [0, 1].map(function (i) { return (out[i] - 1) * s[i] + d[i] * (kk[i] - 1) + 1; });
  src.rows = Math.max(padded[0], reach[0]); src.cols = Math.max(padded[1], reach[1]);
  src.kind = function (i, j) {
    if (i >= padded[0] || j >= padded[1]) return "overhang";    // ceil_mode's window past the end
    if (i < p[0] || j < p[1] || i >= p[0] + c.input[0] || j >= p[1] + c.input[1]) return "pad";
    return "input";
  };
  dst.kind = function () { return "out"; };
  var cells = out[0] * out[1], at2 = ((step % cells) + cells) % cells;
  var o = [Math.floor(at2 / out[1]), at2 % out[1]];
  dst.marks[key(o[0], o[1])] = "current";
  for (var x = 0; x < kk[0]; x++) for (var y = 0; y < kk[1]; y++)
    src.marks[key(o[0] * s[0] + x * d[0], o[1] * s[1] + y * d[1])] = "tap";
  src.window = [o[0] * s[0], o[1] * s[1], d[0] * (kk[0] - 1) + 1, d[1] * (kk[1] - 1) + 1];
  var what = {conv: "the weighted sum", max_pool: "the maximum", avg_pool: "the average"}[c.layer];
  caption = "output (" + o[0] + ", " + o[1] + ") = " + what + " of the " + kk[0] * kk[1] +
            " highlighted cells, starting at padded (" + o[0] * s[0] + ", " + o[1] * s[1] + ")";
  return {src: src, dst: dst, caption: caption, steps: cells};
}

function drawGrid(ctx, g, x0, y0, size) {
  for (var i = 0; i < g.rows; i++) for (var j = 0; j < g.cols; j++) {
    var kind = g.kind(i, j), mark = g.marks[i + "," + j], x = x0 + j * size, y = y0 + i * size;
    ctx.fillStyle = COLORS[kind];
    // overlap counts: darker where more taps land, so the checkerboard shows at any size
    var label = g.label ? g.label(i, j) : null;
    if (label !== null) ctx.fillStyle = "hsl(150, 60%, " + (96 - 36 * label / g.maxLabel) + "%)";
    ctx.fillRect(x, y, size, size);
    var lines = size >= 6;                           // below that, cell borders would be all
    if (kind === "pad" && lines) {                   // hatch the padding
      ctx.strokeStyle = "#bdbdbd"; ctx.beginPath(); ctx.moveTo(x, y + size); ctx.lineTo(x + size, y); ctx.stroke();
    }
    if (mark === "tap") { ctx.fillStyle = COLORS.tap; ctx.fillRect(x, y, size, size); }
    if (mark === "current") { ctx.fillStyle = COLORS.current; ctx.fillRect(x, y, size, size); }
    if (lines) {
      ctx.strokeStyle = COLORS.grid;
      ctx.setLineDash(kind === "overhang" ? [3, 2] : []);
      ctx.strokeRect(x + 0.5, y + 0.5, size - 1, size - 1);
      ctx.setLineDash([]);
    }
    if (label !== null && size >= 12) {
      ctx.fillStyle = COLORS.text; ctx.font = Math.floor(size * 0.55) + "px sans-serif";
      ctx.textAlign = "center"; ctx.textBaseline = "middle";
      ctx.fillText(String(label), x + size / 2, y + size / 2 + 1);
    }
  }
  if (g.window) {
    ctx.strokeStyle = COLORS.window; ctx.lineWidth = 2;
    ctx.strokeRect(x0 + g.window[1] * size + 1, y0 + g.window[0] * size + 1, g.window[3] * size - 2, g.window[2] * size - 2);
    ctx.lineWidth = 1;
  }
}

// Size the canvas for width x height CSS pixels, sharp on high-density (phone) screens.
function sizeCanvas(canvas, width, height) {
  var ratio = window.devicePixelRatio || 1, ctx = canvas.getContext("2d");
  canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
  canvas.style.height = height + "px";
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

function drawScene(canvas, r, step) {
  var width = canvas.clientWidth || 600, ctx;
  if (r.error) {
    ctx = sizeCanvas(canvas, width, 40);
    ctx.fillStyle = "#b91c1c"; ctx.font = "14px sans-serif";
    ctx.fillText("no picture: the layer raises for this configuration", 8, 24);
    return {steps: 1, caption: ""};
  }
  var sc = scene(r, step), gap = 24, label = 18;
  var side = cellSize((width - gap) / 2, Math.max(sc.src.cols, sc.dst.cols), 1, 1e9);
  // side by side while cells stay legible, else stacked, each grid as large as fits
  var horizontal = side >= 10 || width > 700, srcSize, dstSize, h;
  if (horizontal) {
    srcSize = dstSize = cellSize(width - gap, sc.src.cols + sc.dst.cols, Math.max(sc.src.rows, sc.dst.rows), 520);
    h = label + Math.max(sc.src.rows, sc.dst.rows) * srcSize + 2;
  } else {
    srcSize = cellSize(width, sc.src.cols, sc.src.rows, 360);
    dstSize = cellSize(width, sc.dst.cols, sc.dst.rows, 520);
    h = 2 * label + sc.src.rows * srcSize + sc.dst.rows * dstSize + gap;
  }
  ctx = sizeCanvas(canvas, width, h);
  ctx.fillStyle = COLORS.text; ctx.font = "12px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
  var srcName = r.layer === "conv_transpose" || r.layer === "max_unpool" ? "input" : "padded input";
  ctx.fillText(srcName, 0, 12);
  drawGrid(ctx, sc.src, 0, label, srcSize);
  var dx = horizontal ? sc.src.cols * srcSize + gap : 0, dy = horizontal ? 0 : label + sc.src.rows * srcSize + gap;
  ctx.fillStyle = COLORS.text;
  ctx.fillText(r.layer === "conv_transpose" ? "output (numbers: taps per cell)" : "output", dx, dy + 12);
  drawGrid(ctx, sc.dst, dx, dy + label, dstSize);
  return sc;
}

function drawMatrix(canvas, m) {
  var width = canvas.clientWidth || 600;
  var rows = m.length, cols = m[0].length, size = Math.min(22, cellSize(width, cols, 1, 1e9));
  var ctx = sizeCanvas(canvas, width, rows * size + 2);
  ctx.textAlign = "center"; ctx.textBaseline = "middle"; ctx.font = Math.floor(size * 0.5) + "px sans-serif";
  for (var i = 0; i < rows; i++) for (var j = 0; j < cols; j++) {
    var v = m[i][j];
    ctx.fillStyle = v ? "hsl(" + (210 + 37 * v) % 360 + ",70%,70%)" : "#fafafa";
    ctx.fillRect(j * size, i * size, size, size);
    ctx.strokeStyle = "#e5e7eb"; ctx.strokeRect(j * size + 0.5, i * size + 0.5, size - 1, size - 1);
    if (v && size >= 12) { ctx.fillStyle = COLORS.text; ctx.fillText("w" + v, j * size + size / 2, i * size + size / 2 + 1); }
  }
}

// -- the page ------------------------------------------------------------------------------------

var state = {config: null, step: 0, playing: true, last: 0, steps: 1, period: 700};

function defaults() {
  // a ceil_mode max pool whose last window hangs over the padding: the case people ask about
  return {layer: "max_pool", channels: 1, input: [6, 6], out_channels: 1, kernel_size: [3, 3], stride: [2, 2],
          padding: [1, 1], padding_string: null, dilation: [1, 1], output_padding: [0, 0], groups: 1,
          ceil_mode: true};
}

function $(id) { return document.getElementById(id); }

function slider(name, label, value, range) {
  var row = document.createElement("label");
  row.className = "knob"; row.dataset.knob = name;
  row.innerHTML = "<span class=name></span><input type=range><output></output>";
  row.querySelector(".name").textContent = label;
  var input = row.querySelector("input");
  input.min = range[0]; input.max = range[1]; input.value = value; input.id = "knob-" + name;
  input.setAttribute("aria-label", label);
  row.querySelector("output").textContent = value;
  input.addEventListener("input", function (event) { row.querySelector("output").textContent = input.value; readControls(event); });
  return row;
}

// The padding sliders mean nothing while Conv2d's padding is 'same' or 'valid'.
function disableNamedPadding() {
  [0, 1].forEach(function (i) {
    var el = $("knob-padding" + i);
    if (el) el.disabled = !!state.config.padding_string;
  });
}

// Conv2d's padding: numbers (the sliders), 'same' or 'valid'.
function paddingChoice(value) {
  var row = document.createElement("label");
  row.className = "knob"; row.dataset.knob = "padding_string";
  row.innerHTML = "<span class=name>padding</span><select id=knob-padding_string>" +
    "<option value=''>numbers</option><option value=same>'same'</option><option value=valid>'valid'</option></select><span></span>";
  var select = row.querySelector("select");
  select.value = value || "";
  select.addEventListener("change", readControls);
  return row;
}

function buildControls() {
  var box = $("knobs"), c = state.config, R = DATA.ranges;
  box.innerHTML = "";
  var add = function (el) { box.appendChild(el); };
  add(slider("channels", "channels", c.channels, R.channels));
  add(slider("input0", "H_in", c.input[0], R.height));
  add(slider("input1", "W_in", c.input[1], R.width));
  DATA.layers[c.layer].knobs.forEach(function (k) {
    if (k === "ceil_mode") {
      var row = document.createElement("label");
      row.className = "knob check"; row.dataset.knob = k;
      row.innerHTML = "<input type=checkbox id=knob-ceil_mode><span class=name>ceil_mode</span>";
      row.querySelector("input").checked = c.ceil_mode;
      row.querySelector("input").addEventListener("change", readControls);
      add(row);
    } else if (DATA.per_axis.indexOf(k) >= 0) {
      if (k === "padding" && c.layer === "conv") add(paddingChoice(c.padding_string));
      add(slider(k + "0", k + " (H)", c[k][0], R[k]));
      add(slider(k + "1", k + " (W)", c[k][1], R[k]));
    } else {
      add(slider(k, k, c[k], R[k]));
    }
  });
  disableNamedPadding();
}

function readControls(event) {
  var changed = event && event.target ? event.target.id : null;
  var c = state.config, val = function (id) { var el = $("knob-" + id); return el ? parseInt(el.value, 10) : null; };
  var link = $("link").checked;
  // an (H, W) pair of sliders; linked, the one just moved sets both
  var readPair = function (k) {
    var h = val(k + "0"), w = val(k + "1");
    if (!link) return [h, w];
    var v = changed === "knob-" + k + "1" ? w : h;
    [0, 1].forEach(function (i) { var el = $("knob-" + k + i); el.value = v; el.nextElementSibling.textContent = v; });
    return [v, v];
  };
  c.channels = val("channels");
  c.input = readPair("input");
  DATA.per_axis.forEach(function (k) { if ($("knob-" + k + "0")) c[k] = readPair(k); });
  ["out_channels", "groups"].forEach(function (k) { if ($("knob-" + k)) c[k] = val(k); });
  if ($("knob-ceil_mode")) c.ceil_mode = $("knob-ceil_mode").checked;
  c.padding_string = $("knob-padding_string") ? $("knob-padding_string").value || null : null;
  disableNamedPadding();
  state.step = 0;
  render();
}

function pythonCall(r) {
  var c = r.config, args = [];
  var t = function (v) { return v[0] === v[1] ? String(v[0]) : "(" + v[0] + ", " + v[1] + ")"; };
  if (c.layer === "conv" || c.layer === "conv_transpose") args.push(c.channels, c.out_channels);
  args.push("kernel_size=" + t(c.kernel_size), "stride=" + t(c.stride),
            "padding=" + (c.padding_string ? "'" + c.padding_string + "'" : t(c.padding)));
  if (c.layer === "conv_transpose") args.push("output_padding=" + t(c.output_padding));
  if (c.layer === "conv" || c.layer === "conv_transpose" || c.layer === "max_pool") args.push("dilation=" + t(c.dilation));
  if (c.layer === "conv" || c.layer === "conv_transpose") args.push("groups=" + c.groups);
  if (c.layer === "max_pool" || c.layer === "avg_pool") args.push("ceil_mode=" + (c.ceil_mode ? "True" : "False"));
  return "nn." + c.cls + "(" + args.join(", ") + ")(x)   # x: (1, " + c.channels + ", " + c.input[0] + ", " + c.input[1] + ")";
}

function render() {
  var r = compute(state.config);
  $("call").textContent = pythonCall(r);
  var lines = r.dims.map(function (d) {
    var text = d.name + "_out = " + d.formula + "\n" + " ".repeat(d.name.length + 5) + "= " + d.filled + " = " + d.value;
    if (d.rule) text += "\n" + " ".repeat(d.name.length + 5) + "ceil_mode " + d.rule;
    return text;
  });
  $("formulas").textContent = lines.join("\n");
  $("shape").textContent = r.error ? "no output" : "output shape: [" + r.shape.join(", ") + "]";
  var err = $("error");
  err.hidden = !r.error;
  err.textContent = r.error ? r.error.type + ": " + r.error.message : "";
  var m = convMatrix(state.config);
  $("matrix-box").hidden = !m;
  if (m) {
    $("matrix-title").textContent = r.layer === "conv_transpose"
      ? "C\u1d40 (" + m.length + " x " + m[0].length + "): the transposed convolution multiplies by the transpose of the convolution's matrix"
      : "C (" + m.length + " x " + m[0].length + "): conv(x).flatten() = C @ x.flatten(); w1.. are the kernel taps, row-major";
    drawMatrix($("matrix"), m);
  }
  var counts = overlapCounts(state.config);
  var uneven = counts && [].concat.apply([], counts).some(function (v, _, all) { return v !== all[0]; });
  $("overlap").textContent = counts ? (uneven
    ? "Output cells receive different numbers of kernel taps (" + unique(counts).join(", ") + "): a checkerboard, even on a constant input."
    : "Every output cell receives the same number of taps (" + counts[0][0] + "): no checkerboard.") : "";
  state.lastResult = r;
  var sc = drawScene($("anim"), r, state.step);
  state.steps = sc.steps; $("caption").textContent = sc.caption;
  $("play").textContent = state.playing ? "pause" : "play";
}

function unique(counts) {
  var seen = {};
  counts.forEach(function (row) { row.forEach(function (v) { seen[v] = true; }); });
  return Object.keys(seen).map(Number).sort(function (a, b) { return a - b; });
}

function step(by) {
  state.step = ((state.step + by) % state.steps + state.steps) % state.steps;
  render();
}

function frame(t) {
  if (state.playing && t - state.last >= state.period) { state.last = t; step(1); }
  state.frames = (state.frames || 0) + 1;
  window.requestAnimationFrame(frame);
}

function setLayer(layer) {
  state.config.layer = layer;
  buildControls();
  readControls();
}

function init() {
  state.config = defaults();
  var select = $("layer");
  Object.keys(DATA.layers).forEach(function (k) {
    var o = document.createElement("option");
    o.value = k; o.textContent = DATA.layers[k].cls; select.appendChild(o);
  });
  select.value = state.config.layer;
  select.addEventListener("change", function () { setLayer(select.value); });
  $("link").addEventListener("change", readControls);
  $("play").addEventListener("click", function () { state.playing = !state.playing; render(); });
  $("next").addEventListener("click", function () { state.playing = false; step(1); });
  $("prev").addEventListener("click", function () { state.playing = false; step(-1); });
  window.addEventListener("resize", render);
  buildControls();
  render();
  window.requestAnimationFrame(frame);
}

// For tests and the curious: the pure rules, and a way to drive the page.
window.emberPlayground = {
  compute: compute, overlapCounts: overlapCounts, convMatrix: convMatrix, data: DATA,
  computeAll: function (configs) { return configs.map(compute); },
  setConfig: function (config) {
    state.config = merge(defaults(), config);
    if (typeof state.config.padding === "string") {
      state.config.padding_string = state.config.padding; state.config.padding = [0, 0];
    }
    ["input", "kernel_size", "stride", "padding", "dilation", "output_padding"].forEach(function (k) {
      state.config[k] = pair(state.config[k]);
    });
    $("link").checked = state.config.input[0] === state.config.input[1] &&
      DATA.per_axis.every(function (k) { return state.config[k][0] === state.config[k][1]; });
    $("layer").value = state.config.layer;
    buildControls(); state.step = 0; render();
    return state.lastResult;
  },
  step: step,
  state: state
};

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
