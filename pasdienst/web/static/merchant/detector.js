// Camera + QR detection, shared by the scan page and the browser-test harness.
//
// The browser's own BarcodeDetector is used where it exists (Android Chrome,
// macOS). Elsewhere (iOS Safari, Firefox, Linux Chromium) the vendored
// barcode-detector ponyfill is loaded on demand, and only then is its 1 MB
// WebAssembly decoder fetched, from our own server at the exact version the
// ponyfill was built against (see static/vendor/barcode-detector/VERSIONS.txt).

export class CameraError extends Error {
  // reason: "denied" | "missing" | "busy" | "insecure" | "unavailable"
  constructor(reason, cause) {
    super(`camera ${reason}`);
    this.reason = reason;
    this.cause = cause;
  }
}

/** Start the rear camera in `video`; returns a function that releases it. */
export async function openCamera(video) {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    throw new CameraError(window.isSecureContext ? "unavailable" : "insecure");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (err) {
    const reason = {
      NotAllowedError: "denied",
      SecurityError: "denied",
      NotFoundError: "missing",
      OverconstrainedError: "missing",
      NotReadableError: "busy",
      AbortError: "busy",
    }[err?.name] || "unavailable";
    throw new CameraError(reason, err);
  }
  video.srcObject = stream;
  // iOS needs play() even with autoplay; a refusal here only delays frames.
  await video.play().catch(() => {});
  return () => {
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

let polyfillPromise = null;

async function loadPolyfill(polyfillUrl, wasmUrl) {
  // One load per page, however often the scanner restarts.
  polyfillPromise ??= loadScript(polyfillUrl).then(() => {
    const api = window.BarcodeDetectionAPI;
    const wasm = new URL(wasmUrl, document.baseURI).href;
    // Without this override the ponyfill fetches the wasm from a CDN, which
    // our CSP (connect-src 'self') blocks and a shop's network may not reach.
    api.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasm : prefix + path) },
      fireImmediately: true, // start the download while the camera warms up
    });
    return api;
  });
  return polyfillPromise;
}

/**
 * A QR detector: native where the browser has one, else the vendored ponyfill.
 * Resolves to {detector, kind: "native" | "polyfill"}.
 */
export async function createDetector({ polyfillUrl, wasmUrl }) {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        return { detector: new window.BarcodeDetector({ formats: ["qr_code"] }), kind: "native" };
      }
    } catch {
      // Some builds expose the class but have no detection service: fall through.
    }
  }
  const api = await loadPolyfill(polyfillUrl, wasmUrl);
  return { detector: new api.BarcodeDetector({ formats: ["qr_code"] }), kind: "polyfill" };
}

/**
 * Look for a QR code in `video` every `interval` ms until one is found; then
 * stop and call onCode(text). Frames are never decoded in parallel: the next
 * attempt is scheduled only after the previous one finished, so a slow phone
 * does not pile up work. After `maxFailures` errors in a row, onError(err).
 * Returns stop().
 */
export function scanLoop(video, detector, onCode, { interval = 120, onError = null, maxFailures = 25 } = {}) {
  let stopped = false;
  let timer = null;
  let failures = 0;

  async function tick() {
    if (stopped) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      try {
        const found = await detector.detect(video);
        failures = 0;
        const hit = found.find((code) => code.rawValue);
        if (hit && !stopped) {
          stopped = true;
          onCode(hit.rawValue);
          return;
        }
      } catch (err) {
        failures += 1;
        if (failures >= maxFailures && !stopped) {
          stopped = true;
          onError?.(err);
          return;
        }
      }
    }
    if (!stopped) timer = setTimeout(tick, interval);
  }

  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
