// Measures, in this page, the time from join() to the first decoded remote video frame.
import { join, getLocalMedia, CallEvent } from '/sdk/peercall.js';

const video = document.createElement('video');
video.autoplay = true; video.muted = true; video.playsInline = true;
document.body.appendChild(video);
let stream = null;

window.benchJoin = async (token) => {
  stream = stream || await getLocalMedia({ audio: true, video: true });
  const t0 = performance.now();
  let resolveFrame;
  const firstFrame = new Promise((resolve) => { resolveFrame = resolve; });
  const call = await join({ url: location.origin, token, localStream: stream });
  window.benchCall = call;
  call.on(CallEvent.RemoteTrack, ({ track, stream: remote }) => {
    if (track.kind !== 'video') return;
    video.srcObject = remote;
    video.requestVideoFrameCallback(() => resolveFrame(performance.now() - t0));
  });
  window.benchFirstFrame = firstFrame;
  return true;
};

window.benchLeave = async () => { if (window.benchCall) window.benchCall.leave(); window.benchCall = null; };

// Baseline: two RTCPeerConnections in this page, SDP handed over directly (no server).
window.benchBaseline = async () => {
  stream = stream || await getLocalMedia({ audio: true, video: true });
  const t0 = performance.now();
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const frame = new Promise((resolve) => {
    b.ontrack = (e) => {
      if (e.track.kind !== 'video') return;
      const v = document.createElement('video');
      v.muted = true; v.autoplay = true; v.srcObject = e.streams[0];
      document.body.appendChild(v);
      v.requestVideoFrameCallback(() => { resolve(performance.now() - t0); v.remove(); });
    };
  });
  stream.getTracks().forEach((t) => a.addTrack(t, stream));
  await a.setLocalDescription(); await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(); await a.setRemoteDescription(b.localDescription);
  const ms = await frame;
  a.close(); b.close();
  return ms;
};
