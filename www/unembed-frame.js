// unembed-frame.js — for a host page that shows the explorer in an <iframe> (embed.html): it
// sizes each such iframe to the height of the page inside, which embed.html posts to its parent
// whenever it changes. without this script an iframe keeps its own height and scrolls inside.
// a classic script or a module; it touches nothing but the height of the iframes that speak.
addEventListener('message', (e) => {
  const d = e.data;
  if (!d || d.unembed !== 'height' || !Number.isFinite(d.height)) return;
  const height = Math.min(Math.max(Math.ceil(d.height), 80), 20000);
  for (const frame of document.getElementsByTagName('iframe')) {
    if (frame.contentWindow === e.source) frame.style.height = `${height}px`;
  }
});
