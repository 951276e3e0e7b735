// The pass page (templates/wallet/pass.html) on a phone without data: once
// opened, it opens again offline. This registers the service worker
// (static/wallet/sw.js, served as /p/sw.js) for this one pass, with the
// pass's own address as its scope, and tells it what the page is made of
// so it keeps exactly that: the page, the QR code, the styles, this script.
// Nothing here is needed to show the pass: where service workers are missing
// (or the page is not on https), the page is as it was.

const card = document.querySelector("[data-worker][data-scope]");
const workers = navigator.serviceWorker;

/** The same-origin files this page uses; the worker refuses anything else. */
function parts() {
  const urls = [new URL(card.dataset.scope, location.href).href];
  for (const el of document.querySelectorAll("link[rel~=stylesheet], link[rel~=icon], link[rel=apple-touch-icon], script[src], img[src]")) {
    const url = new URL(el.href || el.src, location.href);
    if (url.origin === location.origin) urls.push(url.href);
  }
  return urls;
}

async function keepForOffline() {
  await workers.register(card.dataset.worker, { scope: card.dataset.scope });
  const registration = await workers.ready;
  const channel = new MessageChannel();
  const answered = new Promise((resolve) => {
    channel.port1.onmessage = (event) => resolve(event.data);
  });
  registration.active.postMessage({ keep: parts() }, [channel.port2]);
  // Says when the copy is complete: the browser tests wait for it before going offline.
  document.documentElement.dataset.offline = await answered;
}

if (card && workers && window.isSecureContext) {
  keepForOffline().catch(() => {
    // No copy (private browsing, storage full, offline at the first visit): the page still works online.
  });
}
