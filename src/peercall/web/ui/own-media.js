/**
 * Our own media in the call page: microphone, camera and screen-share buttons, the device
 * menus (microphone, camera, speaker), our avatar while the camera is off, and notices
 * about devices and a host's commands. Built only on the public SDK (`call.media`).
 */

import { CallEvent } from '/sdk/peercall.js';
import { UI_TEXT, describeError, deviceLostText, initials, moderatedText, requestAcceptText, requestText } from './messages.js';

/**
 * @typedef {import('/sdk/peercall.js').Call} Call
 * @typedef {import('./view.js').View} View
 * @typedef {import('/sdk/peercall.js').MediaState} MediaState
 */

/**
 * @param {Call} call
 * @param {View} view
 * @param {string} ownName for our avatar's initials
 */
export function setupOwnMedia(call, view, ownName) {
  const media = call.media;
  view.localInitials.textContent = initials(ownName);

  /** @param {MediaState} state */
  const render = (state) => {
    view.micButton.disabled = false;
    view.setToggle(view.micButton, state.audio !== 'on', UI_TEXT.muteMic, UI_TEXT.unmuteMic);
    view.cameraButton.disabled = false;
    view.setToggle(view.cameraButton, state.video !== 'on', UI_TEXT.cameraOff, UI_TEXT.cameraOn); // on again ends a share
    view.screenButton.hidden = !media.screenShareSupported;
    view.screenButton.setAttribute('aria-pressed', String(state.screen));
    view.screenButton.setAttribute('aria-label', state.screen ? UI_TEXT.shareStop : UI_TEXT.shareStart);
    view.screenButton.classList.toggle('pc-on', state.screen);
    view.localAvatar.hidden = state.video === 'on' || state.screen;
    view.app.dataset.audio = state.audio;
    view.app.dataset.video = state.screen ? 'screen' : state.video;
  };
  render(media.state);

  /** Run a media operation from a click; a failure becomes a notice. @param {() => Promise<unknown>} operation */
  const act = (operation) => {
    operation().catch((err) => view.showNotice(describeError(err)));
  };
  view.micButton.addEventListener('click', () => act(() => (media.state.audio === 'on' ? media.muteMic() : media.unmuteMic())));
  view.cameraButton.addEventListener('click', () => act(() => (media.state.video === 'on' ? media.cameraOff() : media.cameraOn())));
  view.screenButton.addEventListener('click', () => {
    media.state.screen
      ? act(() => media.stopScreenShare())
      : media.startScreenShare().catch((err) => {
        if (err?.code !== 'permission_denied') view.showNotice(describeError(err)); // cancelling the picker is no error
      });
  });
  call.on(CallEvent.LocalMedia, ({ media: state }) => {
    render(state);
    if (!view.devicesPanel.hidden) void fillDevices();
  });

  // Device menus
  const fillDevices = async () => {
    let devices;
    try {
      devices = await media.listDevices();
    } catch {
      return;
    }
    fill(view.micSelect, devices.microphones, devices.active.microphone);
    fill(view.cameraSelect, devices.cameras, devices.active.camera);
    view.speakerField.hidden = !media.speakerSelectable || devices.speakers.length === 0;
    fill(view.speakerSelect, devices.speakers, devices.active.speaker || 'default');
  };
  /** @param {boolean} open */
  const openDevices = (open) => {
    view.devicesPanel.hidden = !open;
    view.devicesButton.setAttribute('aria-expanded', String(open));
    if (open) void fillDevices().then(() => view.micSelect.focus());
  };
  view.devicesButton.addEventListener('click', () => openDevices(view.devicesPanel.hidden));
  view.devicesClose.addEventListener('click', () => openDevices(false));
  view.devicesPanel.addEventListener('keydown', (/** @type {KeyboardEvent} */ event) => { if (event.key === 'Escape') openDevices(false); });
  view.micSelect.addEventListener('change', () => act(() => media.selectMicrophone(view.micSelect.value)));
  view.cameraSelect.addEventListener('change', () => act(() => media.selectCamera(view.cameraSelect.value)));
  view.speakerSelect.addEventListener('change', () => act(() => media.setSpeaker(view.remoteVideo, view.speakerSelect.value)));
  call.on(CallEvent.DevicesChanged, () => { if (!view.devicesPanel.hidden) void fillDevices(); });
  call.on(CallEvent.DeviceLost, ({ kind, fallback }) => {
    view.showNotice(deviceLostText(kind, fallback));
    if (!view.devicesPanel.hidden) void fillDevices();
  });

  // A host's commands and requests
  call.on(CallEvent.Moderated, ({ action, by, changed }) => {
    if (changed) view.showNotice(moderatedText(by.name, action));
  });
  call.on(CallEvent.ModerationRequest, ({ action, by, accept, decline }) => {
    const { box, text, accept: yes, decline: no } = view.prompt;
    text.textContent = requestText(by.name, action);
    yes.textContent = requestAcceptText(action);
    box.hidden = false;
    yes.focus({ preventScroll: true });
    const close = () => {
      box.hidden = true;
      yes.onclick = no.onclick = null;
    };
    yes.onclick = () => { close(); act(accept); };
    no.onclick = () => { close(); decline(); };
  });
  call.on(CallEvent.Ended, () => {
    view.prompt.box.hidden = true;
    view.devicesPanel.hidden = true;
  });
}

/**
 * @param {HTMLSelectElement} select
 * @param {{deviceId: string, label: string}[]} devices
 * @param {string} active
 */
function fill(select, devices, active) {
  select.replaceChildren(...devices.map((d) => new Option(d.label, d.deviceId, false, d.deviceId === active)));
  if (devices.length === 0) select.append(new Option(UI_TEXT.noDevice, '', true, true));
  select.disabled = devices.length === 0;
}
