// Tayori dashboard: sparklines and charts from the options the server embedded as JSON (data-spark,
// #chart-data). A module, so it shares chart-text.js with the server: the escaping formatters are
// added here, after parsing, as functions cannot travel in JSON.
import { withHtmlSafeText } from './chart-text.js';

/** The options a page embedded, made ready for the browser: text escaped where ApexCharts writes HTML. */
function browserOptions(spec) {
  var o = withHtmlSafeText(spec);
  // apexcharts' stylesheets come from /assets/ (the Content-Security-Policy allows no inline <style>)
  o.chart = Object.assign({}, o.chart, { injectStyleSheet: false });
  return o;
}

if (typeof ApexCharts !== 'undefined') {
  document.querySelectorAll('[data-spark]').forEach(function (el) {
    try {
      new ApexCharts(el, browserOptions(JSON.parse(el.getAttribute('data-spark')))).render();
    } catch (e) {
      console.error(e);
    }
  });
  var data = document.getElementById('chart-data');
  if (data) {
    var charts = JSON.parse(data.textContent);
    window.tayoriCharts = {};
    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var spec = charts[el.getAttribute('data-chart')];
      if (!spec) return;
      var opts = browserOptions(spec);
      // counts of people (residents by attribute): whole numbers on the value axis (a function cannot travel in the JSON spec)
      if (/^attr-/.test(el.getAttribute('data-chart'))) {
        opts.xaxis = Object.assign({}, opts.xaxis);
        opts.xaxis.labels = Object.assign({}, opts.xaxis.labels, {
          formatter: function (v) {
            return Number.isInteger(Number(v)) ? Number(v).toLocaleString('ja-JP') : '';
          },
        });
      }
      var chart = new ApexCharts(el, opts);
      window.tayoriCharts[el.getAttribute('data-chart')] = chart;
      chart.render().then(function () {
        el.setAttribute('data-rendered', 'true');
      });
    });
  }
}
