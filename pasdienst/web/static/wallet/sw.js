// The pass page's service worker, served as /p/sw.js (wallet/views.py) and
// registered by static/wallet/pass.js for one pass, with the scope
// /p/<token>. So it controls that pass's page and nothing else: not another
// child's pass, not the till, not the staff pages.
//
// It keeps a copy of the page, its QR code and the files the page named
// (pass.js sends the list), so a child on a phone without data can still show
// the pass. The page always comes from the network first; the kept copy is
// shown when there is no network (or no answer in a few seconds, or a server
// error), and says when its balances were read ("Saldo van 3 december 14:05").
// A pass the server refuses (blocked, replaced, expired) loses its copy and
// this worker.
//
// The token in the scope is a bearer secret: this worker writes nothing to
// the console and talks to no one but our own server.

const VERSION = "1";
const PAGE = new URL(self.registration.scope).pathname; // "/p/<token>"
const PAGE_URL = new URL(PAGE, self.location.origin).href;
const QR = `${PAGE}/qr.svg`;
const CACHE = `pass ${VERSION} ${PAGE}`;
// Registered for one pass, or for nothing: a wider scope ("/p/") would
// keep every pass this phone opens.
const ONE_PASS = /^\/p\/[^/]+$/.test(PAGE);
// On a weak connection, how long the page waits for the network before the
// kept copy is shown (the network's answer is still kept when it comes).
const NETWORK_WAIT_MS = 4000;

/** A file of the page that may be kept: its QR code and our static files. */
function keepable(url) {
  return url.origin === self.location.origin && (url.pathname === QR || url.pathname.startsWith("/static/"));
}

/** A definitive refusal of the pass (not a server in trouble, not "wait"). */
function refused(status) {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** The page as kept: the same page, its note about when it was read shown. */
async function keptCopy(response) {
  const html = await response.text();
  const headers = new Headers(response.headers); // the page's CSP stays with the copy
  headers.delete("Content-Length");
  headers.delete("Content-Encoding");
  return new Response(html.replace("data-stored hidden", "data-stored"), { status: 200, headers });
}

// Set once the server refused the pass: the worker keeps nothing from then on
// (the refused page it still controls asks for its styles through it).
let forgotten = false;

async function forget() {
  forgotten = true;
  await caches.delete(CACHE);
  await self.registration.unregister();
}

async function keepPage(response) {
  if (forgotten) return;
  if (response.ok) {
    const cache = await caches.open(CACHE);
    await cache.put(PAGE_URL, await keptCopy(response));
  } else if (refused(response.status)) {
    await forget();
  }
}

function wait(ms) {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}

// The copy being written from the last page the network gave: the page asks
// for its files right after, and its answer must come after the copy is in.
let keeping = Promise.resolve();

async function page(event) {
  const network = fetch(event.request);
  keeping = network.then((response) => keepPage(response.clone())).catch(() => {});
  event.waitUntil(keeping);
  let response = null;
  try {
    response = await Promise.race([network, wait(NETWORK_WAIT_MS)]);
  } catch {
    response = null; // no network
  }
  if (response && response.status < 500) return response;
  const kept = await caches.match(PAGE_URL, { cacheName: CACHE });
  return kept ?? response ?? network;
}

async function file(event) {
  // caches.match, not caches.open: looking must not make a cache that forget() removed.
  const kept = forgotten ? undefined : await caches.match(event.request, { cacheName: CACHE, ignoreVary: true });
  if (!kept) return fetch(event.request); // not one of the page's files (the letter's): not kept
  // Shown at once; refreshed behind it (pasdienst.css has no version in its address).
  event.waitUntil(
    fetch(event.request)
      .then(async (fresh) => {
        if (fresh.ok && !forgotten) await (await caches.open(CACHE)).put(event.request, fresh);
      })
      .catch(() => {}),
  );
  return kept;
}

/** Keep exactly the page and the files it named; fetch what is missing. */
async function keepOnly(names) {
  await Promise.race([keeping, wait(NETWORK_WAIT_MS)]);
  if (forgotten) return "refused";
  const wanted = new Set([PAGE_URL]);
  for (const name of Array.isArray(names) ? names : []) {
    let url;
    try {
      url = new URL(name, self.location.origin);
    } catch {
      continue;
    }
    if (keepable(url)) wanted.add(url.href);
  }
  const cache = await caches.open(CACHE);
  const have = new Set();
  for (const request of await cache.keys()) {
    if (wanted.has(request.url)) have.add(request.url);
    else await cache.delete(request); // an older page's files
  }
  for (const url of wanted) {
    if (have.has(url)) continue;
    const response = await fetch(url);
    if (url === PAGE_URL) {
      await keepPage(response);
      if (!response.ok) return "refused";
    } else if (response.ok) {
      await cache.put(url, response);
    }
  }
  return "ready";
}

self.addEventListener("install", (event) => {
  if (!ONE_PASS) {
    event.waitUntil(Promise.reject(new Error("a pass's worker needs the scope /p/<token>")));
    return;
  }
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      // An older version's copy of this pass (never another pass's).
      for (const name of await caches.keys()) {
        if (name !== CACHE && name.endsWith(` ${PAGE}`) && name.startsWith("pass ")) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (!ONE_PASS || request.method !== "GET") return;
  const url = new URL(request.url);
  if (request.mode === "navigate") {
    // The letter (/p/<token>/brief) is under the scope too: it goes to the network untouched.
    if (url.origin === self.location.origin && url.pathname === PAGE) event.respondWith(page(event));
    return;
  }
  if (keepable(url)) event.respondWith(file(event));
});

self.addEventListener("message", (event) => {
  const reply = event.ports[0];
  if (!ONE_PASS || !reply || event.origin !== self.location.origin) return;
  event.waitUntil(
    keepOnly(event.data?.keep).then(
      (state) => reply.postMessage(state),
      () => reply.postMessage("failed"),
    ),
  );
});
