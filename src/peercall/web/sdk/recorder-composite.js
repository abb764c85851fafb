/**
 * The composite picture and sound of a call for `composite` recordings: every live video
 * (remote ones first, then ours) side by side on a 1280×720 canvas, redrawn 25 times a
 * second, and every audio track mixed through WebAudio. New tracks (a peer joining, a
 * device switch) are picked up on the next frame.
 *
 * @module recorder-composite
 */

const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 25;

/**
 * @param {() => MediaStream | null} localStream
 * @param {() => RTCPeerConnection[]} connections
 * @returns {{stream: MediaStream, stop: () => void}}
 */
export function compositeStream(localStream, connections) {
  const canvas = document.createElement('canvas');
  canvas.width = WIDTH;
  canvas.height = HEIGHT;
  const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  /** @type {Map<string, HTMLVideoElement>} */
  const videos = new Map();
  const audio = new AudioContext();
  const mix = audio.createMediaStreamDestination();
  /** @type {Map<string, MediaStreamAudioSourceNode>} */
  const sources = new Map();

  const tracks = () => {
    const own = localStream()?.getTracks() ?? [];
    const remote = connections().flatMap((pc) => pc.getReceivers().map((r) => r.track));
    return [...remote, ...own].filter((t) => t.readyState === 'live');
  };
  const videoFor = (/** @type {MediaStreamTrack} */ track) => {
    let video = videos.get(track.id);
    if (!video) {
      video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      video.srcObject = new MediaStream([track]);
      void video.play().catch(() => {});
      videos.set(track.id, video);
    }
    return video;
  };
  const draw = () => {
    const live = tracks();
    const pictures = live.filter((t) => t.kind === 'video').map(videoFor);
    g.fillStyle = '#111';
    g.fillRect(0, 0, WIDTH, HEIGHT);
    const slot = WIDTH / Math.max(1, pictures.length);
    pictures.forEach((video, i) => {
      if (!video.videoWidth) return;
      const scale = Math.min(slot / video.videoWidth, HEIGHT / video.videoHeight);
      const w = video.videoWidth * scale;
      const h = video.videoHeight * scale;
      g.drawImage(video, i * slot + (slot - w) / 2, (HEIGHT - h) / 2, w, h);
    });
    for (const track of live.filter((t) => t.kind === 'audio')) {
      if (sources.has(track.id)) continue;
      const source = audio.createMediaStreamSource(new MediaStream([track]));
      source.connect(mix);
      sources.set(track.id, source);
    }
  };
  draw();
  const timer = setInterval(draw, 1000 / FPS);
  const [videoTrack] = canvas.captureStream(FPS).getVideoTracks();
  return {
    stream: new MediaStream([videoTrack, ...mix.stream.getAudioTracks()]),
    stop: () => {
      clearInterval(timer);
      videoTrack.stop();
      for (const video of videos.values()) video.srcObject = null;
      void audio.close();
    },
  };
}
