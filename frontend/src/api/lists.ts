import { http, type Query } from "./client";
import type { Page } from "./types";

/** Some list endpoints answer a bare array and some a page; accept both. */
export function asList<T>(data: T[] | Page<T> | null | undefined): T[] {
  if (!data) return [];
  return Array.isArray(data) ? data : data.results;
}

export function asPage<T>(data: T[] | Page<T>): Page<T> {
  return Array.isArray(data) ? { count: data.length, next: null, previous: null, results: data } : data;
}

/** The cursor of a next/previous link (null without one, or for a page-number link). */
export function cursorOf(link: string | null | undefined): string | null {
  if (!link) return null;
  try {
    return new URL(link, "http://relative.invalid").searchParams.get("cursor");
  } catch {
    return null;
  }
}

/** DRF's `next` is absolute; keep only its path and query so the call stays same-origin. */
export function relativeNext(next: string): string {
  try {
    const url = new URL(next, "http://relative.invalid");
    return url.pathname + url.search;
  } catch {
    return next;
  }
}

/**
 * Every item of a paginated list, following `next` page by page (never a silent cut at
 * the first page). maxItems guards a runaway list; past it, it throws rather than lie.
 */
export async function allPages<T>(path: string, query: Query = {}, maxItems = 10000): Promise<T[]> {
  const out: T[] = [];
  let data = await http.get<T[] | Page<T>>(path, { page_size: 100, ...query });
  for (;;) {
    if (Array.isArray(data)) return [...out, ...data];
    out.push(...data.results);
    if (!data.next) return out;
    if (out.length >= maxItems) throw new Error(`${path}: more than ${maxItems} items; narrow the list`);
    data = await http.get<T[] | Page<T>>(relativeNext(data.next));
  }
}
