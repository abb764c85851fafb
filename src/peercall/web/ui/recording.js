/**
 * Recording in the call page: a record button and a red "REC" indicator that both
 * participants see while any recording of the call runs (driven by the SDK's
 * `recordingStateChanged`, i.e. by the server, not by our own button).
 */

import { CallEvent } from '/sdk/peercall.js';
import { t } from './i18n.js';

/** @typedef {import('/sdk/peercall.js').Call} Call */

/**
 * @param {Call} call
 * @param {Document} doc
 */
export function setupRecording(call, doc = document) {
  const button = /** @type {HTMLButtonElement} */ (doc.querySelector('[data-testid=record-button]'));
  const indicator = /** @type {HTMLElement} */ (doc.querySelector('[data-testid=recording-indicator]'));
  const notice = /** @type {HTMLElement} */ (doc.querySelector('[data-testid=notice]'));
  const say = (/** @type {string} */ text) => {
    notice.textContent = text;
    notice.hidden = !text;
  };
  button.hidden = false;
  const render = () => {
    const recording = call.recording.active;
    button.setAttribute('aria-pressed', String(recording));
    button.setAttribute('aria-label', t(recording ? 'recordStop' : 'record'));
    button.classList.toggle('pc-recording', recording);
  };
  render();
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      if (call.recording.active) {
        await call.recording.stop();
        say(t('recordingSaved'));
      } else {
        await call.recording.start({ mode: 'composite' });
      }
    } catch (error) {
      const code = /** @type {{code?: string}} */ (error).code;
      say(t(code === 'forbidden' ? 'recordingForbidden' : 'recordingFailed'));
    } finally {
      button.disabled = false;
      render();
    }
  });
  call.on(CallEvent.RecordingStateChanged, ({ recording }) => {
    const on = recording.state !== 'stopped';
    indicator.hidden = !on;
    indicator.title = !on ? '' : recording.mode === 'server' ? t('recordedByServer') : t('recordedBy', { name: recording.startedBy });
    // A room recorded by the server: nobody records from the browser (the server refuses it).
    button.hidden = on && recording.mode === 'server';
    render();
  });
}
