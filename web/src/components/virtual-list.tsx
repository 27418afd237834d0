import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { GridHeader, type Column, type SortState } from './data-table';

export interface VirtualListProps {
  /** Rows in the list. */
  count: number;
  /** Every row has this height, px (fixed heights make virtualisation O(visible rows)). */
  rowHeight: number;
  /** Renders row `index`; it is placed absolutely by the list. */
  renderRow: (index: number, active: boolean) => ComponentChildren;
  /** Changes whenever row contents change, to re-render visible rows. */
  version?: unknown;
  /** Rows rendered above and below the viewport. */
  overscan?: number;
  /** Keep the view on the newest row while the user is at the bottom (log tail). */
  follow?: boolean;
  /**
   * How many rows have ever been removed from the top (monotonic). When it
   * grows, the view shifts up by as many rows, so the rows in view stay put.
   */
  removedTotal?: number;
  activeIndex?: number;
  onActiveChange?: (index: number) => void;
  onActivate?: (index: number) => void;
  label: string;
  /** id prefix for rows (aria-activedescendant) */
  idPrefix: string;
  className?: string;
  /** The grid's columns: the header row is built from them (rows use `<GridCells>` with the same array). */
  // `any`: the list never reads a row; only the page's own cells (GridCells) do.
  columns: ReadonlyArray<Column<any, any>>;
  /** Sortable columns (`Column.sort`): the current order and what a header click does. */
  sort?: SortState;
  onSort?: (key: string) => void;
  empty?: ComponentChildren;
  testId?: string;
}

/**
 * A windowed list: only the rows in view (plus `overscan`) exist in the DOM,
 * so 500 nodes or 5,000 events cost the same to render as 30. Keyboard:
 * ↑/↓, PgUp/PgDn, Home/End move the active row, Enter opens it.
 */
export function VirtualList(props: VirtualListProps) {
  const { count, rowHeight, overscan = 8 } = props;
  const viewport = useRef<HTMLDivElement>(null);
  /** Where the list is scrolled to, as this component models it (px); the DOM is written, never read back, except on user scrolls. */
  const pos = useRef(0);
  const [, rerender] = useState(0);
  const [height, setHeight] = useState(400);
  const atBottom = useRef(true);
  const frame = useRef(0);
  /** The scrollTop last written to the DOM (-1: none pending). */
  const written = useRef(-1);
  const extent = useRef({ count, height });
  extent.current = { count, height };

  useLayoutEffect(() => {
    const el = viewport.current!;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const onScroll = useCallback(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const el = viewport.current;
      if (!el) return;
      const top = el.scrollTop;
      const { count: n, height: h } = extent.current;
      atBottom.current = top + h >= n * rowHeight - rowHeight * 1.5;
      if (top !== pos.current) {
        pos.current = top;
        written.current = top;
        rerender((x) => x + 1);
      }
    });
  }, [rowHeight]);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // The window is computed from the list's size and the rows removed, not read back from the
  // DOM: one render and at most one layout per frame, however fast rows arrive.
  const maxTop = Math.max(0, count * rowHeight - height);
  const following = props.follow === true && atBottom.current;
  const removedTotal = props.removedTotal ?? 0;
  const seenRemoved = useRef(removedTotal);
  const removed = removedTotal - seenRemoved.current;
  seenRemoved.current = removedTotal;
  if (following) pos.current = maxTop;
  else if (removed > 0) pos.current = Math.max(0, pos.current - removed * rowHeight);
  pos.current = Math.min(pos.current, maxTop);
  const top = pos.current;

  useLayoutEffect(() => {
    if (written.current !== top) {
      viewport.current!.scrollTop = top;
      written.current = top;
    }
  });

  const ensureVisible = (index: number) => {
    const rowTop = index * rowHeight;
    let next = pos.current;
    if (rowTop < next) next = rowTop;
    else if (rowTop + rowHeight > next + height) next = rowTop + rowHeight - height;
    if (next !== pos.current) {
      pos.current = next;
      atBottom.current = next >= maxTop - rowHeight * 1.5;
      rerender((x) => x + 1);
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (!props.onActiveChange || count === 0) return;
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const cur = props.activeIndex ?? -1;
    let next: number | null = null;
    switch (e.key) {
      case 'ArrowDown':
        next = Math.min(count - 1, cur + 1);
        break;
      case 'ArrowUp':
        next = Math.max(0, cur - 1);
        break;
      case 'PageDown':
        next = Math.min(count - 1, cur + page);
        break;
      case 'PageUp':
        next = Math.max(0, cur - page);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = count - 1;
        break;
      case 'Enter':
      case ' ':
        if (cur >= 0 && props.onActivate) {
          e.preventDefault();
          props.onActivate(cur);
        }
        return;
      default:
        return;
    }
    e.preventDefault();
    props.onActiveChange(next);
    ensureVisible(next);
  };

  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((top + height) / rowHeight) + overscan);
  // Rows are keyed by slot (index modulo the window size): scrolling by one row re-uses the
  // element that left the window instead of removing one and creating another.
  const slots = Math.ceil(height / rowHeight) + 2 * overscan + 2;
  const rows = [];
  for (let i = first; i < last; i++) {
    const active = i === props.activeIndex;
    rows.push(
      <div
        key={i % slots}
        id={`${props.idPrefix}-${i}`}
        role="row"
        aria-rowindex={i + 2}
        aria-selected={active}
        class={`vrow${active ? ' active' : ''}${i % 2 ? ' odd' : ''}`}
        style={{ transform: `translateY(${i * rowHeight}px)`, height: `${rowHeight}px` }}
        onClick={() => {
          props.onActiveChange?.(i);
        }}
        onDblClick={() => props.onActivate?.(i)}
      >
        {props.renderRow(i, active)}
      </div>,
    );
  }

  return (
    <div class={`vlist ${props.className ?? ''}`} role="grid" aria-label={props.label} aria-rowcount={count + 1} data-testid={props.testId}>
      <GridHeader columns={props.columns} sort={props.sort} onSort={props.onSort} />
      <div
        ref={viewport}
        class="vlist-viewport"
        tabIndex={0}
        onScroll={onScroll}
        onKeyDown={onKeyDown}
        aria-activedescendant={props.activeIndex !== undefined && props.activeIndex >= 0 ? `${props.idPrefix}-${props.activeIndex}` : undefined}
        role="rowgroup"
      >
        {count === 0 && props.empty ? <div class="vlist-empty">{props.empty}</div> : null}
        <div class="vlist-spacer" style={{ height: `${count * rowHeight}px` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
