// AudioWorklet processors of the live voice (loaded by audio.js): 16 kHz signed 16-bit mono PCM in frames
// of 100 ms, both ways. `sampleRate` is the audio context's rate (often 48 kHz).

const RATE = 16000;
const FRAME_SAMPLES = 1600; // 100 ms
const START_SAMPLES = 2400; // playback starts (and restarts after running dry) with 150 ms buffered
const MAX_SAMPLES = 8000; // beyond 500 ms buffered, the oldest is dropped down to 150 ms

// The microphone: each output sample is the mean of the input samples it stands for (a simple low-pass
// before the decimation), posted as an Int16Array's buffer every 100 ms.
class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / RATE;
    this.position = 0;
    this.sum = 0;
    this.count = 0;
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i += 1) {
      this.sum += channel[i];
      this.count += 1;
      this.position += 1;
      if (this.position < this.step) continue;
      this.position -= this.step;
      const value = Math.max(-1, Math.min(1, this.sum / this.count));
      this.sum = 0;
      this.count = 0;
      this.frame[this.filled] = Math.round(value * 0x7fff);
      this.filled += 1;
      if (this.filled === FRAME_SAMPLES) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(FRAME_SAMPLES);
        this.filled = 0;
      }
    }
    return true;
  }
}

// The other side's voice: frames (ArrayBuffers of Int16 samples) queue up and play at the context's
// rate by linear interpolation; a small buffer evens out the network's jitter without adding much delay.
class PcmPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = RATE / sampleRate;
    this.queue = [];
    this.buffered = 0; // samples queued, the one being played included
    this.position = 0; // in queue[0], in samples
    this.playing = false;
    this.port.onmessage = ({ data }) => this.add(new Int16Array(data));
  }

  add(frame) {
    this.queue.push(frame);
    this.buffered += frame.length;
    if (this.buffered <= MAX_SAMPLES) return;
    while (this.buffered - this.queue[0].length >= START_SAMPLES) this.buffered -= this.queue.shift().length;
    this.position = 0;
  }

  sample(offset) {
    let index = Math.floor(this.position) + offset;
    for (const frame of this.queue) {
      if (index < frame.length) return frame[index] / 32768;
      index -= frame.length;
    }
    return null;
  }

  process(inputs, outputs) {
    const output = outputs[0][0];
    if (!this.playing && this.buffered < START_SAMPLES) return true;
    this.playing = true;
    for (let i = 0; i < output.length; i += 1) {
      const current = this.sample(0);
      if (current === null) {
        this.playing = false; // ran dry: silence until the buffer has filled again
        break;
      }
      const next = this.sample(1) ?? current;
      const fraction = this.position % 1;
      output[i] = current + (next - current) * fraction;
      this.position += this.step;
      while (this.queue.length && this.position >= this.queue[0].length) {
        this.position -= this.queue[0].length;
        this.buffered -= this.queue.shift().length;
      }
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
registerProcessor("pcm-player", PcmPlayer);
