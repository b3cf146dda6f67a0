/** Most items a page holds when the caller names no limit. */
export const DEFAULT_PAGE_SIZE = 50;

/** One page of a list: `limit` items (default DEFAULT_PAGE_SIZE) after the first `offset`. */
export function pageOf<T>(items: T[], page: { limit?: number | undefined; offset?: number | undefined } = {}): T[] {
  const offset = page.offset ?? 0;
  return items.slice(offset, offset + (page.limit ?? DEFAULT_PAGE_SIZE));
}
