// Enhancement only: every page works without this file. It adds "Copy" buttons beside digests.
document.addEventListener("DOMContentLoaded", () => {
    if (!navigator.clipboard) return;
    for (const button of document.querySelectorAll("button.copy[data-copy-text]")) {
        button.hidden = false;
        button.addEventListener("click", async () => {
            try {
                await navigator.clipboard.writeText(button.dataset.copyText);
                button.firstChild.textContent = "Copied";
            } catch {
                button.firstChild.textContent = "Select the text to copy";
            }
        });
    }
});
