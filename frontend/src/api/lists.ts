import type { Page } from "./types";

/** Some list endpoints answer a bare array and some a page; accept both. */
export function asList<T>(data: T[] | Page<T> | null | undefined): T[] {
  if (!data) return [];
  return Array.isArray(data) ? data : data.results;
}

export function asPage<T>(data: T[] | Page<T>): Page<T> {
  return Array.isArray(data) ? { count: data.length, next: null, previous: null, results: data } : data;
}
