// Test harness: the scan page's own detection module, camera to text, nothing else.
const root = document.getElementById("harness");
const show = (id, text) => { document.getElementById(id).textContent = text; };

try {
  const { openCamera, createDetector, scanLoop } = await import(root.dataset.detector);
  const video = document.getElementById("cam");
  await openCamera(video);
  const { detector, kind } = await createDetector({ polyfillUrl: root.dataset.polyfill, wasmUrl: root.dataset.wasm });
  show("kind", kind);
  scanLoop(video, detector, (text) => show("out", text), {
    onError: (err) => show("error", `${err?.name}: ${err?.message}`),
  });
} catch (err) {
  show("error", `${err?.name}: ${err?.message}`);
}
