export type AutoStopChoice = "1" | "2" | "4" | "6" | "custom" | "off";

export const AUTO_STOP_CHOICES: { value: AutoStopChoice; label: string }[] = [
  { value: "1", label: "1 hour later" },
  { value: "2", label: "2 hours later" },
  { value: "4", label: "4 hours later" },
  { value: "6", label: "6 hours later" },
  { value: "custom", label: "Custom (1–24 h)" },
  { value: "off", label: "Off (runs until stopped)" },
];

/** The deploy request's auto_stop, or null when a custom value is out of range. */
export function autoStopHours(choice: AutoStopChoice, custom: string): { enabled: boolean; hours?: number } | null {
  if (choice === "off") return { enabled: false };
  if (choice !== "custom") return { enabled: true, hours: Number(choice) };
  if (!/^\d+$/.test(custom.trim())) return null;
  const hours = Number(custom);
  return hours >= 1 && hours <= 24 ? { enabled: true, hours } : null;
}

/** Idle stop: minutes without calls before the service stops; null when the text is not a
 *  whole number in range (the API's default range is 5–1440 and it refuses the rest). */
export const IDLE_MINUTES_RANGE = { min: 5, max: 1440 };

export function idleMinutes(text: string): number | null {
  if (!/^\d+$/.test(text.trim())) return null;
  const minutes = Number(text);
  return minutes >= IDLE_MINUTES_RANGE.min && minutes <= IDLE_MINUTES_RANGE.max ? minutes : null;
}
