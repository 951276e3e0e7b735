// The job page's progress bar: asks the server every two seconds how far the
// job is, and shows the finished page when it is done. Without JavaScript the
// "Vernieuwen" link does the same by hand.
(function () {
  "use strict";
  const root = document.getElementById("job-live");
  if (!root) return;
  const url = root.dataset.statusUrl;
  const bar = document.getElementById("job-progress");
  const text = document.getElementById("job-status");

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const job = await response.json();
        if (job.finished) {
          location.reload();
          return;
        }
        if (job.total > 0) {
          bar.max = job.total;
          bar.value = job.done;
        }
        text.textContent = job.status_text;
      }
    } catch (error) {
      // Offline for a moment: try again at the next tick.
    }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
