// The insights page's charts (Chart.js, served as the npm registry ships it): the figures by day and by hour of
// the day. The numbers themselves are in the page's cards and table; the charts only draw them.
const charts = JSON.parse(document.getElementById("insights-charts").textContent);
const COLOURS = ["#1a73e8", "#188038", "#e37400", "#a142f4"];

function draw(canvasId, data, type) {
  const canvas = document.getElementById(canvasId);
  if (!canvas || !data || !window.Chart) return;
  new window.Chart(canvas, {
    type,
    data: {
      labels: data.labels,
      datasets: data.series.map((series, index) => ({
        label: series.label,
        data: series.values,
        borderColor: COLOURS[index % COLOURS.length],
        backgroundColor: COLOURS[index % COLOURS.length],
        tension: 0.2,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
}

draw("trend-chart", charts.trend, "line");
draw("hours-chart", charts.hours, "bar");
