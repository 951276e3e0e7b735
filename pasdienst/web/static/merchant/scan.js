// The merchant's till (templates/merchant/scan.html): scan or type a pass
// code, confirm, charge, show the receipt, list today's payments, void.
// Talks to /api/v1 (CONTRACT.md). No framework: the page must stay small
// for a phone on slow 3G and readable for whoever maintains it next.
//
// Money is integer cents everywhere; euros are parsed from text with
// integer arithmetic only (never parseFloat), as pasdienst/money.py does.

const PENDING_KEY = "pasdienst.merchant.pendingRedemption";
const REQUEST_TIMEOUT_MS = 20000; // slow 3G: a 201 may take a while to arrive
const RETRY_DELAYS_MS = [1000, 3000, 6000];
const BUSY_RETRIES = 20; // 409 request_in_progress / 429: the server told us to wait
const SCAN_INTERVAL_MS = 120;
const REJECTED_CODE_QUIET_MS = 4000; // don't resubmit a refused QR still in view

// The names of pasdienst/wallet/labels.py, which the pass page and the letter use:
// the cashier and the family call a voucher the same.
export const CATEGORIES = {
  sport_culture: "Sport en cultuur",
  school: "School",
  transport: "Vervoer",
  clothing: "Kleding en schoenen",
  digital: "Laptop of tablet",
  other: "Overig",
};

export const KINDS = { budget: "Tegoed", punchcard: "Strippenkaart", cheque: "Cheque" };

function pretty(code) {
  const text = String(code).replace(/[_-]/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();
}

/** A voucher as the family's letter names it: "Tegoed sport en cultuur", "Strippenkaart zwemmen", "Fashioncheque". */
export function voucherName(voucher) {
  if (voucher.kind === "punchcard") return `Strippenkaart ${pretty(voucher.code ?? voucher.category).toLowerCase()}`;
  if (voucher.kind === "cheque") return pretty(voucher.code ?? "cheque");
  if (voucher.category === "other" || !CATEGORIES[voucher.category]) return "Tegoed";
  return `Tegoed ${CATEGORIES[voucher.category].toLowerCase()}`;
}

// The refusals by the API's code, in Dutch from the server's catalogue (the page's #till-messages).
export const MESSAGES = JSON.parse(document.getElementById("till-messages")?.textContent || "{}");
// Wrong typed codes are limited per till login, per merchant (all its tills) and
// per network address; QR codes never are.
const TYPED_LIMITS = {
  login: () => "Op deze kassa is te vaak een verkeerde code getypt.",
  merchant: (name) => `Op alle kassa's van ${name || "deze aanbieder"} samen is te vaak een verkeerde code getypt.`,
  address: () => "Vanaf dit netwerk is te vaak een verkeerde code getypt.",
};
const UNKNOWN_ERROR = "Er ging iets mis. Probeer het opnieuw.";
const FOREIGN_PENDING =
  "Op deze telefoon stond nog een betaling van een andere inlog waarvan niet bekend was of die gelukt is. " +
  "Die is niet verstuurd met uw inlog en niet opnieuw afgerekend. " +
  "Wie die betaling deed, kan met de eigen inlog bij ‘Vandaag’ nakijken of hij gelukt is.";
const GONE_PENDING =
  "Deze betaling is in een ander venster afgesloten of gewist; er is niets opnieuw verstuurd. " +
  "Kijk bij ‘Vandaag’ of hij gelukt is.";
const OFFLINE = "Geen verbinding met de server. Controleer het internet en probeer het opnieuw.";

// ---------------------------------------------------------------- money ---

/** 1250 → "€ 12,50"; 123456 → "€ 1.234,56". */
export function formatEuro(cents) {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  const whole = String(Math.trunc(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  return `€ ${sign}${whole},${String(abs % 100).padStart(2, "0")}`;
}

/**
 * "12,50" / "12.50" / "€ 12,5" / "12" → cents, or {error} in Dutch.
 * Thousands separators are refused: "1.000" is ambiguous.
 */
export function parseAmount(text, maxCents = Infinity) {
  const raw = String(text ?? "").trim().replace(/^€\s*/, "");
  if (raw === "") return { error: "Vul een bedrag in, bijvoorbeeld 12,50." };
  // Another script's digits ("١٥٠", fullwidth "１５"): the server refuses them too.
  if (/\p{Nd}/u.test(raw.replace(/[0-9]/g, ""))) {
    return { error: "Typ het bedrag met de cijfers 0 tot en met 9, bijvoorbeeld 12,50." };
  }
  if (/^\d+[.,]\d{3,}$/.test(raw)) return { error: "Hooguit twee cijfers na de komma, bijvoorbeeld 12,50." };
  const match = /^(\d{1,7})(?:[.,](\d{1,2}))?$/.exec(raw);
  if (!match) return { error: "Dat is geen bedrag. Typ bijvoorbeeld 12,50." };
  // Whole euros and cents as separate integers: exact, no binary fractions.
  const cents = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
  if (cents <= 0) return { error: "Het bedrag moet meer dan € 0,00 zijn." };
  if (cents > maxCents) return { error: `Onvoldoende tegoed: er staat nog ${formatEuro(maxCents)} op.` };
  return { cents };
}

/**
 * What the cashier typed → what the API gets. Forgiving: case, spaces and
 * dashes don't matter ("abcd efgh jklm" → "ABCD-EFGH-JKLM"); a pasted pass
 * link is sent as it is, like a scanned QR. null when it cannot be a code.
 */
export function normalizeCode(text) {
  const raw = String(text ?? "").trim();
  if (/^https?:\/\//i.test(raw)) return raw;
  const chars = raw.toUpperCase().replace(/[^A-Z0-9]/g, "");
  if (chars.length !== 12) return null;
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Plain-http development on a LAN has no randomUUID; same v4 layout.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function retryAfterMs(response, fallback) {
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) * 1000 : fallback;
}

function formatTime(date) {
  return date.toLocaleTimeString("nl-NL", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Amsterdam" });
}

/** 45 → "45 seconden"; 61 → "2 minuten" (rounded up: never too early). */
export function waitText(seconds) {
  if (seconds < 60) return seconds === 1 ? "1 seconde" : `${Math.ceil(seconds)} seconden`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minuut" : `${minutes} minuten`;
}

function strips(n) {
  return n === 1 ? "1 strip" : `${n} strippen`;
}

// ------------------------------------------------------------------ app ---

function start(root) {
  const $ = (id) => document.getElementById(id);
  const api = root.dataset.api;
  const loginUrl = root.dataset.login;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const user = root.dataset.user ?? "";
  const steps = ["pending", "scan", "confirm", "receipt", "today"];

  let step = null;
  let current = null; // {code, pass} of the pass on the confirm screen
  let lastReceipt = null;
  let scanner = null; // {stopLoop, releaseCamera} while the camera runs
  let scannerStarting = false;
  let rejected = { code: null, until: 0 };
  let sending = false;
  let wake = null; // resolves a backoff sleep early when the cashier taps "Opnieuw proberen"

  // ------------------------------------------------------------ network ---

  /** fetch with the session cookie, CSRF header and a timeout; throws on network failure. */
  async function request(method, path, { body, headers = {} } = {}) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(api + path, {
        method,
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "X-CSRFToken": csrf,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: abort.signal,
      });
      // Read the body inside the timeout: a connection that drops mid-body
      // must count as a network failure, not as an answer without content.
      const text = await response.text();
      let data = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch {
        data = null;
      }
      return { status: response.status, ok: response.ok, data, response };
    } finally {
      clearTimeout(timer);
    }
  }

  function problemMessage(result) {
    // Only known codes get their own text: a server's detail is English.
    const code = result.data?.code;
    // A reissued pass: the old code will never work again, so typing it again only costs tries.
    if (code === "pass_blocked" && result.data.reason === "replaced") return MESSAGES.pass_replaced;
    if (code === "rate_limited" && TYPED_LIMITS[result.data.limit]) return typedLimitMessage(result.data);
    return MESSAGES[code] ?? UNKNOWN_ERROR;
  }

  function typedLimitMessage({ limit, retry_after: seconds }) {
    const wait = Number.isFinite(seconds) && seconds > 0 ? ` Over ${waitText(seconds)} kan het weer.` : "";
    const who = limit === "merchant" ? document.querySelector(".merchant-name")?.textContent.trim() : "";
    return `${TYPED_LIMITS[limit](who)}${wait} Een QR-code scannen kan gewoon.`;
  }

  function toLogin() {
    location.assign(`${loginUrl}?next=${encodeURIComponent(location.pathname)}`);
  }

  // ----------------------------------------------------------- messages ---

  function say(text) {
    $("status").textContent = text;
    $("announce").textContent = "";
  }

  function alertMessage(text) {
    const el = $("alert");
    el.textContent = text ?? "";
    el.hidden = !text;
  }

  // -------------------------------------------------------------- steps ---

  function show(name, { focus = true, history: record = true } = {}) {
    if (name !== "pending" && loadPending()) name = "pending"; // resolve first, then anything else
    const previous = step;
    step = name;
    for (const s of steps) $(`step-${s}`).hidden = s !== name;
    if (name === "scan") startScanner();
    else stopScanner();
    if (record) remember(previous, name);
    // Move focus to the new step's heading so screen readers and keyboards follow.
    if (focus) $(`step-${name}`).querySelector("h1").focus();
  }

  // The browser's Back goes to the previous step of the till, not away from
  // it: each step is an entry in the page's history. A payment and its receipt
  // take the place of the confirm step they came from, so Back from a receipt
  // goes to the scan (a paid pass is scanned again for its new balance), and a
  // payment whose outcome is unknown cannot be left by Back at all.
  function remember(previous, name) {
    const state = { till: name };
    if (previous === null || previous === "pending" || name === "pending" || name === "receipt") {
      history.replaceState(state, "");
    } else if (previous !== name) {
      history.pushState(state, "");
    }
  }

  window.addEventListener("popstate", (event) => {
    const wanted = event.state?.till;
    if (!steps.includes(wanted)) return;
    if (loadPending()) {
      history.pushState({ till: "pending" }, ""); // settle it first
      if (step !== "pending") show("pending", { history: false });
      return;
    }
    // A step whose content is gone (the pass after "Andere pas scannen") is a new scan.
    const stale = wanted === "pending" || (wanted === "confirm" && !current) || (wanted === "receipt" && !lastReceipt);
    const target = stale ? "scan" : wanted;
    if (stale) history.replaceState({ till: target }, "");
    go(target, { history: false });
  });

  function go(name, { history: record = true } = {}) {
    alertMessage(null);
    say("");
    if (name === "scan") {
      current = null;
      $("code-input").value = "";
      codeError(null);
    }
    if (name === "today") loadToday({ history: record });
    else show(name, { history: record });
  }

  // ------------------------------------------------------------ scanner ---

  async function startScanner() {
    if (scanner || scannerStarting) {
      if (scanner && !scanner.looping) loop();
      return;
    }
    scannerStarting = true;
    $("camera-start").hidden = true;
    $("camera").hidden = false;
    const video = $("camera-video");
    try {
      const { openCamera, createDetector } = await import(root.dataset.detector);
      const releaseCamera = await openCamera(video);
      if (step !== "scan") {
        releaseCamera();
        return;
      }
      scanner = { releaseCamera, stopLoop: null, looping: false, detector: null };
      $("camera").classList.add("live");
      $("camera-message").textContent = "Houd de QR-code van de pas voor de camera.";
      const { detector, kind } = await createDetector({ polyfillUrl: root.dataset.polyfill, wasmUrl: root.dataset.wasm });
      if (!scanner) return;
      scanner.detector = detector;
      root.dataset.detectorKind = kind;
      loop();
    } catch (err) {
      stopScanner(); // the camera may be on while the decoder failed to load
      cameraFailed(err);
    } finally {
      scannerStarting = false;
    }
  }

  async function loop() {
    const { scanLoop } = await import(root.dataset.detector);
    if (!scanner?.detector || scanner.looping) return;
    scanner.looping = true;
    scanner.stopLoop = scanLoop($("camera-video"), scanner.detector, onScanned, {
      interval: SCAN_INTERVAL_MS,
      onError: () => {
        stopScanner();
        cameraFailed({ reason: "decoder" });
      },
    });
  }

  function stopScanner() {
    if (!scanner) return;
    scanner.stopLoop?.();
    scanner.releaseCamera();
    scanner = null;
    $("camera").classList.remove("live");
  }

  function pauseLoop() {
    if (!scanner) return;
    scanner.stopLoop?.();
    scanner.looping = false;
  }

  function cameraFailed(err) {
    const why = {
      denied: "De camera mag niet worden gebruikt. Typ de code in, of geef de browser toestemming voor de camera.",
      missing: "Geen camera gevonden. Typ de code van de pas in.",
      busy: "De camera is in gebruik door een andere app. Sluit die app of typ de code in.",
      insecure: "De camera werkt alleen via een beveiligde verbinding (https). Typ de code in.",
      decoder: "Scannen lukt niet op dit toestel. Typ de code van de pas in.",
    }[err?.reason] ?? "De camera kan niet starten. Typ de code van de pas in.";
    $("camera").classList.remove("live");
    // No picture to aim at: the box goes, so the typed code is on the screen.
    $("camera").hidden = true;
    $("camera-message").textContent = why;
    $("camera-start").hidden = err?.reason === "missing" || err?.reason === "insecure";
    $("announce").textContent = why; // shown once, beside the camera; announced for screen readers
    if (step === "scan") $("code-input").focus();
  }

  function onScanned(text) {
    if (text === rejected.code && Date.now() < rejected.until) {
      // The refused pass is still in front of the camera: keep looking for another.
      scanner.looping = false;
      setTimeout(loop, SCAN_INTERVAL_MS);
      return;
    }
    navigator.vibrate?.(60);
    scanner.looping = false;
    lookUp(text, "camera");
  }

  // ------------------------------------------------------------- lookup ---

  async function lookUp(code, source) {
    const submit = $("code-form").querySelector("button[type=submit]");
    submit.disabled = true;
    alertMessage(null);
    say("Pas controleren…");
    let result;
    try {
      result = await request("POST", "/scan", { body: { code } });
    } catch {
      result = null;
    } finally {
      submit.disabled = false;
    }
    if (result?.status === 401) return toLogin();
    if (result?.ok && result.data) {
      say("");
      current = { code, pass: result.data };
      renderConfirm(result.data);
      show("confirm");
      return;
    }
    const message = result ? problemMessage(result) : OFFLINE;
    say("");
    if (source === "typed") {
      codeError(message);
    } else {
      alertMessage(message);
      rejected = { code, until: Date.now() + REJECTED_CODE_QUIET_MS };
    }
    if (step === "scan") loop(); // keep scanning for the next pass
  }

  function codeError(message) {
    const input = $("code-input");
    const error = $("code-error");
    error.textContent = message ?? "";
    error.hidden = !message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
    if (message) input.focus();
  }

  $("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = normalizeCode($("code-input").value);
    if (!code) {
      codeError("Een code heeft 12 letters en cijfers, bijvoorbeeld ABCD-EFGH-JKLM.");
      return;
    }
    $("code-input").value = code;
    codeError(null);
    pauseLoop();
    lookUp(code, "typed");
  });

  // ------------------------------------------------------------ confirm ---

  function renderConfirm(pass) {
    $("holder-name").textContent = pass.first_name;
    $("holder-age").textContent = `${pass.age} jaar`;
    const list = $("vouchers");
    list.replaceChildren();
    $("no-vouchers").hidden = pass.vouchers.length > 0;
    pass.vouchers.forEach((voucher, index) => list.append(voucherForm(voucher, index)));
  }

  function voucherForm(voucher, index) {
    const form = $("voucher-template").content.firstElementChild.cloneNode(true);
    const isCard = voucher.kind === "punchcard";
    const id = `voucher-${index}`;
    form.dataset.voucherId = voucher.id;
    form.dataset.kind = voucher.kind;
    form.setAttribute("aria-labelledby", `${id}-title`);
    const title = form.querySelector(".voucher-title");
    title.id = `${id}-title`;
    title.textContent = voucherName(voucher);
    const left = isCard ? voucher.strips_left ?? 0 : voucher.balance_cents ?? 0;
    form.querySelector(".voucher-balance").textContent = isCard ? `Nog ${strips(left)}` : `Tegoed ${formatEuro(left)}`;
    form.querySelector(".voucher-valid").textContent = voucher.valid_until
      ? `Geldig t/m ${voucher.valid_until.split("-").reverse().join("-")}`
      : "";

    const error = form.querySelector(".field-error");
    error.id = `${id}-error`;
    const field = form.querySelector(isCard ? ".strips-field" : ".amount-field");
    form.querySelector(isCard ? ".amount-field" : ".strips-field").remove();
    const input = field.querySelector("input");
    input.id = `${id}-input`;
    input.setAttribute("aria-describedby", error.id);
    field.querySelector("label").htmlFor = input.id;
    const submit = form.querySelector("button[type=submit]");

    if (left <= 0) {
      input.disabled = true;
      submit.disabled = true;
      form.querySelector(".voucher-balance").textContent += " (op)";
    }
    if (isCard) {
      input.max = String(left);
      const set = (n) => {
        input.value = String(Math.min(Math.max(n, 1), Math.max(left, 1)));
      };
      form.querySelector(".step-down").addEventListener("click", () => set(Number(input.value) - 1));
      form.querySelector(".step-up").addEventListener("click", () => set(Number(input.value) + 1));
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      let extra;
      let label;
      if (isCard) {
        const n = Number(input.value);
        if (!Number.isInteger(n) || n < 1 || n > left) {
          return fieldError(form, input, `Kies 1 tot en met ${left} strippen.`);
        }
        extra = { strips: n };
        label = strips(n);
      } else {
        const parsed = parseAmount(input.value, left);
        if (parsed.error) return fieldError(form, input, parsed.error);
        extra = { amount_cents: parsed.cents };
        label = formatEuro(parsed.cents);
      }
      fieldError(form, input, null);
      charge({ code: current.code, voucher_id: voucher.id, ...extra }, label, voucherName(voucher));
    });
    return form;
  }

  function fieldError(form, input, message) {
    const error = form.querySelector(".field-error");
    error.textContent = message ?? "";
    error.hidden = !message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
    if (message) input.focus();
  }

  // ------------------------------------------------- charge (idempotent) ---

  // The entry holds the pass code (the retry must send the same body), so it
  // lives only as long as the payment is unresolved, belongs to the login
  // that made it, and goes at logout. Sent under another login it would be
  // another merchant's payment: the child charged twice.

  function storedPending() {
    try {
      return JSON.parse(localStorage.getItem(PENDING_KEY));
    } catch {
      return null;
    }
  }

  /** The unresolved payment of this login, or null. */
  function loadPending() {
    const pending = storedPending();
    return pending && pending.user === user ? pending : null;
  }

  function savePending(pending) {
    localStorage.setItem(PENDING_KEY, JSON.stringify({ ...pending, user }));
  }

  function clearPending() {
    localStorage.removeItem(PENDING_KEY);
  }

  function charge(body, label, voucher) {
    // The key is made once, when the cashier confirms, and stored before the
    // first byte leaves the phone: every retry, even after a reload or a
    // crash, sends this same key, so the server charges at most once.
    const pending = { key: newKey(), body, label, voucher, at: new Date().toISOString() };
    savePending(pending);
    showPending(pending, false);
    send();
  }

  function showPending(pending, unknown) {
    $("pending-amount").textContent = pending.label;
    $("pending-text").textContent = unknown ? "" : "Bezig met afrekenen…";
    $("pending-text").hidden = unknown;
    $("pending-unknown").hidden = !unknown;
    $("pending-retry").hidden = !unknown;
    if (step !== "pending") show("pending");
  }

  async function send() {
    if (sending) {
      wake?.(); // the cashier tapped "Opnieuw proberen" during a backoff: go now
      return;
    }
    sending = true;
    try {
      await sendLoop();
    } finally {
      sending = false;
    }
  }

  async function sendLoop() {
    let failures = 0;
    let busy = 0;
    for (;;) {
      const pending = loadPending();
      if (!pending) {
        // Gone from the phone while this page showed it: a logout or another
        // login in another tab removed it. Nothing is sent.
        if (step === "pending") {
          show("scan");
          alertMessage(GONE_PENDING);
        }
        return;
      }
      let result = null;
      try {
        result = await request("POST", "/redemptions", { body: pending.body, headers: { "Idempotency-Key": pending.key } });
      } catch {
        result = null; // network failure or timeout: outcome unknown
      }
      const status = result?.status ?? 0;
      const code = result?.data?.code;

      if (result?.ok && result.data?.receipt_no !== undefined) {
        clearPending();
        showReceipt(result.data, pending);
        return;
      }
      if (status === 401) {
        // Keep the entry: after logging in, the same key settles it.
        return toLogin();
      }
      // The session's CSRF token went stale (a new login elsewhere): nothing
      // was charged, and a fresh page with the same key settles it.
      const staleToken = status === 403 && /CSRF/.test(result.data?.detail ?? "");
      const typedLimit = status === 429 && TYPED_LIMITS[result.data?.limit];
      if ((status === 409 && code === "request_in_progress") || (status === 429 && !typedLimit)) {
        // Nothing decided yet; the server asks us to wait and send the same key again.
        if (busy++ < BUSY_RETRIES) {
          say(status === 429 ? MESSAGES.rate_limited : "De betaling wordt nog verwerkt…");
          await pause(retryAfterMs(result.response, 1000));
          continue;
        }
      } else if (!staleToken && status >= 400 && status < 500 && status !== 408) {
        // A definitive refusal: nothing was charged.
        clearPending();
        refused(problemMessage(result));
        return;
      }
      // Network error, timeout, 5xx, or a stale CSRF token (a reload fixes it).
      showPending(pending, true);
      say("");
      $("announce").textContent = "Onbekend of de betaling gelukt is.";
      if (staleToken) {
        $("pending-retry").dataset.reload = "1";
        return;
      }
      if (failures < RETRY_DELAYS_MS.length) {
        await pause(RETRY_DELAYS_MS[failures++]);
        continue;
      }
      $("pending-retry").focus();
      return; // wait for "Opnieuw proberen"
    }
  }

  function pause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  function refused(message) {
    const back = current ? "confirm" : "scan";
    show(back);
    alertMessage(message);
  }

  $("pending-retry").addEventListener("click", () => {
    if ($("pending-retry").dataset.reload) {
      location.reload(); // a fresh page brings a fresh CSRF token; the entry survives
      return;
    }
    say("Opnieuw proberen…");
    send();
  });

  // ------------------------------------------------------------ receipt ---

  function showReceipt(data, pending) {
    const byStrips = pending.body.strips !== undefined;
    lastReceipt = { ...data, byStrips };
    current = null;
    $("receipt-title").textContent = "Betaald";
    $("receipt-no").textContent = data.receipt_no;
    $("receipt-voucher").textContent = pending.voucher ?? "";
    $("receipt-voucher-row").hidden = !pending.voucher;
    $("receipt-amount").classList.remove("voided");
    $("receipt-left-label").textContent = "Nog over";
    $("receipt-left-row").hidden = false;
    $("receipt-amount").textContent = byStrips
      ? `${strips(pending.body.strips)}${data.amount_cents ? ` (${formatEuro(data.amount_cents)})` : ""}`
      : formatEuro(data.amount_cents);
    $("receipt-left").textContent = byStrips ? strips(data.strips_left ?? 0) : formatEuro(data.balance_after_cents);
    $("receipt-time").textContent = formatTime(new Date());
    $("receipt-voided").hidden = true;
    $("receipt-void").hidden = false;
    $("void-confirm").hidden = true;
    show("receipt");
    $("announce").textContent = `Betaald: ${$("receipt-amount").textContent}, bon ${data.receipt_no}.`;
  }

  $("receipt-void").addEventListener("click", () => {
    $("void-confirm").hidden = false;
    $("void-yes").focus();
  });
  $("void-no").addEventListener("click", () => {
    $("void-confirm").hidden = true;
    $("receipt-void").focus();
  });
  $("void-yes").addEventListener("click", async () => {
    $("void-yes").disabled = true;
    const voided = await voidRedemption(lastReceipt.id, { quiet: true });
    $("void-yes").disabled = false;
    if (voided) {
      // The receipt now tells what is true after the void, once: the amount
      // struck through, and what the voucher holds again instead of "Nog over".
      $("void-confirm").hidden = true;
      $("receipt-void").hidden = true;
      $("receipt-voided").hidden = false;
      $("receipt-title").textContent = "Geannuleerd";
      $("receipt-amount").classList.add("voided");
      const back = lastReceipt.byStrips ? voided.strips_left : voided.balance_after_cents;
      $("receipt-left-label").textContent = "Nu op de pas";
      $("receipt-left").textContent = lastReceipt.byStrips ? strips(back ?? 0) : formatEuro(back ?? 0);
      $("receipt-left-row").hidden = back === null || back === undefined;
      $("announce").textContent = `Geannuleerd: bon ${lastReceipt.receipt_no}. ${$("receipt-voided").textContent}`;
      $("next-customer").focus();
    }
  });

  /** POST …/void; the answer when voided (false otherwise, with the reason shown). */
  async function voidRedemption(id, { quiet = false } = {}) {
    alertMessage(null);
    let result;
    try {
      result = await request("POST", `/redemptions/${encodeURIComponent(id)}/void`);
    } catch {
      alertMessage("Annuleren is niet gelukt: geen verbinding. Probeer het opnieuw.");
      return false;
    }
    if (result.status === 401) {
      toLogin();
      return false;
    }
    if (!result.ok) {
      alertMessage(problemMessage(result));
      return false;
    }
    if (!quiet) say("Geannuleerd. Het bedrag staat weer op de pas.");
    return result.data ?? {};
  }

  // -------------------------------------------------------------- today ---

  async function loadToday({ history: record = true } = {}) {
    if (loadPending()) return show("pending");
    say("Betalingen van vandaag laden…");
    let result;
    try {
      result = await request("GET", "/redemptions?date=today");
    } catch {
      result = null;
    }
    if (result?.status === 401) return toLogin();
    if (!result?.ok || !result.data) {
      say("");
      alertMessage(result ? problemMessage(result) : OFFLINE);
      return;
    }
    renderToday(result.data);
    say("");
    if (step !== "today") show("today", { history: record });
  }

  function renderToday(data) {
    const list = $("today-list");
    list.replaceChildren();
    $("today-total").textContent = formatEuro(data.total_cents ?? 0);
    $("today-empty").hidden = data.items.length > 0;
    for (const item of data.items) {
      const li = $("today-item-template").content.firstElementChild.cloneNode(true);
      li.dataset.id = item.id;
      li.classList.toggle("voided", Boolean(item.voided));
      li.querySelector(".today-time").textContent = formatTime(new Date(item.created_at));
      li.querySelector(".today-what").textContent =
        `${CATEGORIES[item.category] ?? item.category ?? ""} · ${KINDS[item.kind] ?? item.kind ?? ""}`;
      li.querySelector(".today-amount").textContent = item.strips
        ? `${strips(item.strips)}${item.amount_cents ? ` (${formatEuro(item.amount_cents)})` : ""}`
        : formatEuro(item.amount_cents);
      li.querySelector(".today-receipt").textContent = `Bon ${item.receipt_no}`;
      li.querySelector(".today-state").textContent = item.voided ? "Geannuleerd" : "";
      const button = li.querySelector(".today-void");
      if (item.can_void && !item.voided) {
        button.hidden = false;
        button.setAttribute("aria-label", `Bon ${item.receipt_no} annuleren`);
        button.addEventListener("click", () => confirmVoidFromList(button, item));
      }
      list.append(li);
    }
  }

  function confirmVoidFromList(button, item) {
    // A second tap confirms: no modal dialog, which phones and tests handle badly.
    if (!button.dataset.armed) {
      button.dataset.armed = "1";
      button.textContent = "Ja, annuleren";
      say(`Tik nogmaals om bon ${item.receipt_no} te annuleren.`);
      setTimeout(() => {
        delete button.dataset.armed;
        button.textContent = "Annuleren";
      }, 5000);
      return;
    }
    button.disabled = true;
    voidRedemption(item.id).then((ok) => {
      button.disabled = false;
      if (ok) loadToday();
    });
  }

  // ------------------------------------------------------------- wiring ---

  for (const button of document.querySelectorAll("[data-go]")) {
    button.addEventListener("click", () => go(button.dataset.go));
  }
  $("camera-start").addEventListener("click", () => startScanner());
  // The header's menu (Uitbetalingen, Uitloggen): a disclosure button that
  // closes on a tap elsewhere or Escape, as menus do.
  const menuButton = $("menu-button");
  function openMenu(open) {
    menuButton.setAttribute("aria-expanded", String(open));
    $("till-menu-items").hidden = !open;
  }
  menuButton.addEventListener("click", () => openMenu(menuButton.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".till-menu")) openMenu(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menuButton.getAttribute("aria-expanded") === "true") {
      openMenu(false);
      menuButton.focus();
    }
  });
  document.addEventListener("visibilitychange", () => {
    // Release the camera when the phone locks or the tab is hidden.
    if (document.hidden) stopScanner();
    else if (step === "scan") startScanner();
  });

  // At logout the entry goes (the server also answers Clear-Site-Data).
  for (const form of document.querySelectorAll("form[data-logout]")) {
    form.addEventListener("submit", clearPending);
  }

  const foreign = storedPending();
  if (foreign && foreign.user !== user) {
    // Left by another login on this phone (its session ended without a
    // logout): never sent under this one, and its pass code goes now.
    clearPending();
    alertMessage(FOREIGN_PENDING);
  }

  const pending = loadPending();
  if (pending) {
    // A payment from before the reload (or a crash) is still unresolved:
    // settle it before anything else, with the same key.
    showPending(pending, true);
    $("pending-text").hidden = false;
    $("pending-text").textContent = "Er is nog een betaling waarvan niet bekend is of die gelukt is.";
    say("Controleer eerst de vorige betaling.");
  } else {
    show("scan", { focus: false });
  }
  root.dataset.ready = "1";
}

const root = document.getElementById("scan-app");
if (root) start(root);
