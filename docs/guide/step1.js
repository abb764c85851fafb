// Step 1 of docs/guide: getUserMedia in a secure context (peercall: src/peercall/web/sdk/media.js).
const log = (line) => { document.getElementById('log').textContent += `${line}\n`; };

document.getElementById('context').textContent =
  `isSecureContext = ${window.isSecureContext} (${location.origin})` +
  (navigator.mediaDevices ? '' : ' — navigator.mediaDevices is missing: not a secure context');

document.getElementById('start').addEventListener('click', async () => {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    document.getElementById('preview').srcObject = stream;
    for (const track of stream.getTracks()) log(`${track.kind}: ${track.label} (${track.readyState})`);
  } catch (err) {
    log(`getUserMedia failed: ${err.name}: ${err.message}`);
  }
});
