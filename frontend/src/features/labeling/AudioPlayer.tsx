import { useEffect, useRef, useState } from "react";

const fmt = (t: number) => (Number.isFinite(t) ? `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, "0")}` : "0:00");

/** A small self-contained player: play/pause, a seekable progress bar and the time. */
export function AudioPlayer(props: { src: string; autoPlay?: boolean; testId?: string }) {
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(0);

  useEffect(() => {
    setTime(0);
    setPlaying(false);
    if (props.autoPlay) audio.current?.play().catch(() => undefined);
  }, [props.src, props.autoPlay]);

  const toggle = () => {
    const a = audio.current;
    if (!a) return;
    if (a.paused) a.play().catch(() => undefined);
    else a.pause();
  };

  return (
    <div className="audio-player" data-testid={props.testId ?? "audio-player"}>
      <audio
        ref={audio}
        src={props.src}
        preload="metadata"
        onPlay={() => setPlaying(true)}
        onPause={() => setPlaying(false)}
        onEnded={() => setPlaying(false)}
        onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
        onLoadedMetadata={(e) => setDuration(e.currentTarget.duration)}
        data-testid="audio-element"
      />
      <button className="play" onClick={toggle} aria-label={playing ? "Pause" : "Play"} data-testid="audio-play">{playing ? "❚❚" : "▶"}</button>
      <div
        className="audio-track"
        onClick={(e) => {
          const a = audio.current;
          if (!a || !duration) return;
          const r = e.currentTarget.getBoundingClientRect();
          a.currentTime = ((e.clientX - r.left) / r.width) * duration;
        }}
        data-testid="audio-progress"
      >
        <div className="audio-fill" style={{ width: `${duration ? (time / duration) * 100 : 0}%` }} />
      </div>
      <span className="mono small">{fmt(time)} / {fmt(duration)}</span>
    </div>
  );
}
