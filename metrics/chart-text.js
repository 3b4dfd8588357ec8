// Tayori: how stored text (delivery titles, option labels, area and tenant names) is made safe in a
// chart — the one definition, bundled into the browser's charts.js (dashboard/browser/charts.ts) and
// imported by the server (metrics/charts.ts, renderChartSvg). Chart options are data only (they travel
// as JSON); these functions add what cannot travel: formatters.
//
// In the browser ApexCharts writes tooltip titles, tooltip series names and legend texts with
// innerHTML, and axis labels and titles with textContent: withHtmlSafeText escapes the former only,
// so a person reads exactly the stored text (an ampersand still reads as &).
// On the server apexcharts/ssr serialises every text and attribute as it is: withSvgSafeText escapes
// each text the options hold before rendering; the SVG reader turns the entities back into the text.

var ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML or XML: & < > " ' as entities. */
export function escapeChartText(value) {
  return String(value === null || value === undefined ? '' : value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function copy(o) {
  return o && typeof o === 'object' && !Array.isArray(o) ? Object.assign({}, o) : {};
}

/**
 * The tooltip title ApexCharts shows when no formatter is set (its own label formatters: the category
 * for an index, the label axis of horizontal bars), so the escaped title reads as it did before.
 */
function defaultTooltipTitle(value, ctx) {
  var w = ctx && ctx.w;
  var f = w && w.formatters;
  if (!f) return value;
  if (w.globals && w.globals.isBarHorizontal && f.yLabelFormatters && f.yLabelFormatters[0])
    return f.yLabelFormatters[0](value, ctx);
  return f.xLabelFormatter ? f.xLabelFormatter(value, ctx) : value;
}

/** Options for the browser: escaping formatters where ApexCharts writes HTML (tooltip, legend). */
export function withHtmlSafeText(options) {
  var o = Object.assign({}, options);
  var tooltip = copy(o.tooltip);
  // a datetime axis's tooltip title is a date apexcharts formats itself (its `format` is kept)
  if (copy(o.xaxis).type !== 'datetime') {
    const x = copy(tooltip.x);
    const xFormat = typeof x.formatter === 'function' ? x.formatter : null;
    x.formatter = (value, ctx) => escapeChartText(xFormat ? xFormat(value, ctx) : defaultTooltipTitle(value, ctx));
    tooltip.x = x;
  }
  var y = copy(tooltip.y);
  var title = copy(y.title);
  var titleFormat = typeof title.formatter === 'function' ? title.formatter : null;
  title.formatter = (name, ctx) => {
    if (titleFormat) return escapeChartText(titleFormat(name, ctx));
    return name ? escapeChartText(name) + ': ' : '';
  };
  y.title = title;
  tooltip.y = y;
  o.tooltip = tooltip;
  var legend = copy(o.legend);
  var legendFormat = typeof legend.formatter === 'function' ? legend.formatter : null;
  legend.formatter = (name, ctx) => escapeChartText(legendFormat ? legendFormat(name, ctx) : name);
  o.legend = legend;
  return o;
}

function escapedTitle(t) {
  if (!t || typeof t !== 'object' || typeof t.text !== 'string') return t;
  return Object.assign({}, t, { text: escapeChartText(t.text) });
}

function escapedAxis(axis) {
  if (!axis || typeof axis !== 'object') return axis;
  var a = Object.assign({}, axis);
  if (axis.title) a.title = escapedTitle(axis.title);
  if (Array.isArray(axis.categories)) a.categories = axis.categories.map(escapeChartText);
  return a;
}

/** Options for apexcharts/ssr: every text they hold escaped (titles, names, categories, labels, x values). */
export function withSvgSafeText(options) {
  var o = Object.assign({}, options);
  ['title', 'subtitle', 'noData'].forEach((k) => {
    if (o[k]) o[k] = escapedTitle(o[k]);
  });
  if (o.xaxis) o.xaxis = escapedAxis(o.xaxis);
  if (o.yaxis) o.yaxis = Array.isArray(o.yaxis) ? o.yaxis.map(escapedAxis) : escapedAxis(o.yaxis);
  if (Array.isArray(o.labels)) o.labels = o.labels.map(escapeChartText);
  if (Array.isArray(o.series)) {
    o.series = o.series.map((s) => {
      if (!s || typeof s !== 'object') return s;
      var out = Object.assign({}, s);
      if (typeof s.name === 'string') out.name = escapeChartText(s.name);
      if (Array.isArray(s.data)) {
        out.data = s.data.map((p) =>
          p && typeof p === 'object' && typeof p.x === 'string' ? Object.assign({}, p, { x: escapeChartText(p.x) }) : p,
        );
      }
      return out;
    });
  }
  return o;
}
