// Live voice of a tutoring session: the microphone as 16 kHz signed 16-bit mono PCM frames of 100 ms,
// and the other side's frames played through a jitter buffer of about 150 ms (anything beyond 500 ms is
// dropped, so a late network never makes the voice lag behind the board). The work is done on the audio
// thread by the processors in audio-worklet.js; one AudioContext serves both directions.

const WORKLET_URL = new URL("./audio-worklet.js", import.meta.url);

let context = null;
let ready = null;

export function liveAudioSupported() {
  return Boolean(
    window.isSecureContext && window.AudioWorkletNode && navigator.mediaDevices && navigator.mediaDevices.getUserMedia,
  );
}

async function audioContext() {
  if (!context) {
    context = new AudioContext({ latencyHint: "interactive" });
    ready = context.audioWorklet.addModule(WORKLET_URL);
  }
  await ready;
  return context;
}

/** Browsers start sound only after a tap on the page: true while the voice is held back for that. */
export function audioBlocked() {
  return Boolean(context) && context.state === "suspended";
}

/** Call from a tap or key press: lets held-back sound play. */
export function audioResume() {
  return context ? context.resume() : Promise.resolve();
}

/**
 * Open the microphone; `onFrame(arrayBuffer)` gets every 100 ms of it. Resolves to { stop() }; rejects
 * like getUserMedia (NotAllowedError when the user refuses).
 */
export async function microphoneStart(onFrame) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
  try {
    const audio = await audioContext();
    await audio.resume();
    const source = audio.createMediaStreamSource(stream);
    const capture = new AudioWorkletNode(audio, "pcm-capture", { numberOfOutputs: 1, outputChannelCount: [1] });
    capture.port.onmessage = (event) => onFrame(event.data);
    // Connected so that the audio thread runs it; it outputs silence.
    source.connect(capture).connect(audio.destination);
    return {
      stop() {
        capture.port.onmessage = null;
        source.disconnect();
        capture.disconnect();
        stream.getTracks().forEach((track) => track.stop());
      },
    };
  } catch (error) {
    stream.getTracks().forEach((track) => track.stop());
    throw error;
  }
}

/**
 * The other side's live voice: returns `hear(arrayBuffer)`, which plays each frame received and counts them in
 * `note.dataset.frames`. While the browser holds the sound back until a tap, `listenButton` shows; a tap or key
 * press anywhere on the page lets it play.
 */
export function voicePlayback(listenButton, note) {
  let player = null; // a promise of the player, once the other side has spoken
  let heard = 0;
  const unblock = () => {
    if (audioBlocked()) audioResume().then(() => (listenButton.hidden = !audioBlocked()));
  };
  listenButton.addEventListener("click", unblock);
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unblock);
  return (frame) => {
    heard += 1;
    note.dataset.frames = String(heard);
    if (!player) player = playerStart().catch(() => null);
    player.then((started) => {
      if (started) started.play(frame);
      listenButton.hidden = !audioBlocked();
    });
  };
}

/** A player of received frames; resolves to { play(arrayBuffer) }. */
export async function playerStart() {
  const audio = await audioContext();
  const player = new AudioWorkletNode(audio, "pcm-player", { numberOfInputs: 0, outputChannelCount: [1] });
  player.connect(audio.destination);
  return {
    play(frame) {
      player.port.postMessage(frame, [frame]);
    },
  };
}
