// The reply composer's saved replies and past answers: put the chosen text into the reply box.
// A static file because the Content-Security-Policy allows no inline script; no framework
// needed for one click handler. The box's "input" event then runs the live check and the nudge.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-answers-text], [data-answers-pick]");
  const box = document.getElementById("reply-text");
  if (!button || !box) return;
  const error = document.getElementById("answers-error");
  let text = button.dataset.answersText;
  if (text === undefined) {
    const pick = document.getElementById(button.dataset.answersPick);
    const token = box.form.querySelector('input[name="csrf_token"]');
    if (!pick || !pick.value || !token) return;
    const response = await fetch(pick.value, {
      method: "POST",
      headers: { "X-CSRFToken": token.value, Accept: "application/json" },
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || typeof body.text !== "string") {
      if (error) {
        error.textContent = body.error || response.statusText;
        error.className = "flash error";
        error.hidden = false;
      }
      return;
    }
    text = body.text;
  }
  if (error) {
    error.hidden = true;
    error.className = "";
  }
  box.value = box.value.trim() ? `${box.value.trimEnd()}\n\n${text}` : text;
  box.focus();
  box.dispatchEvent(new Event("input", { bubbles: true }));
});
