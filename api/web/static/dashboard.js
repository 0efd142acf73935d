// The dashboard's charts (Chart.js) and maps (Leaflet), drawn from the figures the page embeds as JSON
// (api/web/pages/dashboard.py): no inline script (CSP), every label already translated by the server.
(() => {
  const source = document.getElementById("dashboard-data");
  if (!source) return;
  const data = JSON.parse(source.textContent);
  const lang = document.documentElement.lang || "en";
  const format = new Intl.NumberFormat(lang);

  function drawChart(canvas) {
    const chart = data.charts[canvas.dataset.chart];
    if (!chart || typeof Chart === "undefined") return;
    const pie = chart.kind === "pie";
    const datasets = chart.series.map((s) => ({
      label: s.label,
      data: s.values,
      backgroundColor: pie ? s.colors : s.color,
      borderColor: pie ? "#ffffff" : s.color,
      borderWidth: 1,
    }));
    const scale = { stacked: chart.stacked, ticks: { color: "#1a1a1a" } };
    new Chart(canvas, {
      type: pie ? "pie" : "bar",
      data: { labels: chart.labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        locale: lang,
        plugins: {
          legend: { position: "bottom", labels: { color: "#1a1a1a" } },
          tooltip: {
            callbacks: {
              label: (item) => `${pie ? item.label : item.dataset.label}: ${format.format(item.raw)}`,
            },
          },
        },
        scales: pie
          ? {}
          : { x: scale, y: { ...scale, beginAtZero: true, ticks: { ...scale.ticks, precision: 0 } } },
      },
    });
    canvas.dataset.drawn = "true";
  }

  const WORLD = [[-56, -170], [76, 190]];
  const ANTARCTICA = "010";

  function unwrapped(ring) {
    // world-atlas rings cross the antimeridian (drawn on a sphere by d3); on a flat map keep them continuous.
    let shift = 0;
    return ring.map(([lon, lat], i) => {
      if (i > 0) {
        const previous = ring[i - 1][0];
        if (lon - previous > 180) shift -= 360;
        else if (previous - lon > 180) shift += 360;
      }
      return [lon + shift, lat];
    });
  }

  function flat(feature) {
    const geometry = feature.geometry;
    if (geometry.type === "Polygon") geometry.coordinates = geometry.coordinates.map(unwrapped);
    if (geometry.type === "MultiPolygon") geometry.coordinates = geometry.coordinates.map((p) => p.map(unwrapped));
    return feature;
  }

  let outlines = null;
  function countries() {
    // The country outlines shipped with the node (world-atlas, TopoJSON, ISO 3166-1 numeric ids).
    outlines = outlines || fetch("/assets/vendor/countries-110m.json")
      .then((response) => response.json())
      .then((topology) => {
        const world = topojson.feature(topology, topology.objects.countries);
        world.features = world.features.filter((f) => f.id !== ANTARCTICA && f.geometry).map(flat);
        return world;
      });
    return outlines;
  }

  function baseMap(element) {
    const map = L.map(element, { zoomControl: false, minZoom: 1 }).fitBounds(WORLD);
    L.control.zoom({ zoomInTitle: data.text.zoomIn, zoomOutTitle: data.text.zoomOut }).addTo(map);
    if (data.tiles) {
      const attribution = document.createElement("span");
      attribution.textContent = data.tiles.attribution || "";
      L.tileLayer(data.tiles.url, { attribution: attribution.innerHTML, maxZoom: 18 }).addTo(map);
    }
    return map;
  }

  function escaped(text) {
    const span = document.createElement("span");
    span.textContent = String(text);
    return span.innerHTML;
  }

  function drawLocations(element) {
    const map = baseMap(element);
    const points = data.maps.points;
    return countries().then((world) => {
      if (!data.tiles) {
        L.geoJSON(world, { interactive: false, style: { color: "#767676", weight: 1, fillColor: "#f4f4f0", fillOpacity: 1 } }).addTo(map);
      }
      const markers = points.map((p) => L.circleMarker([p.lat, p.lon], {
        radius: 6 + Math.min(10, Math.sqrt(p.count) * 2), color: "#ffffff", weight: 2,
        fillColor: p.color, fillOpacity: 0.9,
      }).bindTooltip(`${escaped(p.stage)}: ${format.format(p.count)} ${escaped(data.text.programmes)}`).addTo(map));
      if (markers.length) {
        map.fitBounds(L.featureGroup(markers).getBounds().pad(0.5), { maxZoom: 6 });
      }
    });
  }

  function drawCountries(element) {
    const map = baseMap(element);
    const rows = new Map(data.maps.countries.filter((r) => r.numeric).map((r) => [r.numeric, r]));
    return countries().then((world) => {
      L.geoJSON(world, {
        style: (feature) => {
          const row = rows.get(feature.id);
          return { color: "#767676", weight: 1, fillColor: row ? row.color : "#f4f4f0", fillOpacity: data.tiles && !row ? 0 : 1 };
        },
        onEachFeature: (feature, layer) => {
          const row = rows.get(feature.id);
          if (row) {
            layer.bindTooltip(`${escaped(row.name)}: ${format.format(row.credits)} ${escaped(data.text.credits)}, `
              + `${format.format(row.retirements)} ${escaped(data.text.retirements)}`);
          }
        },
      }).addTo(map);
    });
  }

  function start() {
    document.querySelectorAll("canvas[data-chart]").forEach(drawChart);
    if (typeof L === "undefined") return;
    const draw = { locations: drawLocations, countries: drawCountries };
    document.querySelectorAll("[data-map]").forEach((element) => {
      const done = () => { element.dataset.drawn = "true"; };
      draw[element.dataset.map](element).then(done, done);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
