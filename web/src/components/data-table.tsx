import { Fragment, type ComponentChildren } from 'preact';

/**
 * One column of a table: the header and every cell of that column come from this one definition,
 * for `<DataTable>` (an HTML table) and for `<VirtualList columns>` (a windowed ARIA grid).
 * `C` is what the page passes to every cell besides the row (the clock, a busy flag, callbacks).
 */
export interface Column<R, C = undefined> {
  /** Header text. */
  label: string;
  /** The header only for screen readers (an actions column). */
  hiddenLabel?: boolean;
  /** Class of the header and of every cell (grid widths in styles.css: `c-host`, `c-num`, …). */
  cls?: string;
  /** Class of the cells only (`mono`, `actions`, `muted`). */
  cellClass?: string;
  cell: (row: R, ctx: C) => ComponentChildren;
  /** More attributes of a cell (title, data-testid). */
  cellProps?: (row: R, ctx: C) => Record<string, unknown>;
  /** The key this column sorts by: its header becomes a sort button. */
  sort?: string;
  /** The sort button's accessible name; `Sort by <label>` unless given. */
  sortLabel?: string;
}

export interface SortState {
  key: string;
  dir: 1 | -1;
}

/** The next sort after a click on `key`'s header: the same key flips, another starts ascending. */
export const nextSort = <S extends SortState>(s: S, key: S['key']): S => ({ ...s, key, dir: s.key === key ? ((-s.dir) as 1 | -1) : 1 });

const classes = (...c: Array<string | undefined>): string | undefined => c.filter(Boolean).join(' ') || undefined;

/** A header cell's attributes and content: the label, or a sort button with its ▲/▼ mark. */
export function headerCell<R, C>(c: Column<R, C>, sort?: SortState, onSort?: (key: string) => void): { ariaSort: 'ascending' | 'descending' | undefined; content: ComponentChildren } {
  const sorted = c.sort !== undefined && sort?.key === c.sort;
  const ariaSort = sorted ? (sort!.dir === 1 ? 'ascending' : 'descending') : undefined;
  if (c.hiddenLabel) return { ariaSort, content: <span class="sr-only">{c.label}</span> };
  if (c.sort === undefined || !onSort) return { ariaSort, content: c.label };
  return {
    ariaSort,
    content: (
      <button type="button" class="sort" onClick={() => onSort(c.sort!)} aria-label={c.sortLabel ?? `Sort by ${c.label}`}>
        {c.label}
        <span aria-hidden="true">{sorted ? (sort!.dir === 1 ? ' ▲' : ' ▼') : ''}</span>
      </button>
    ),
  };
}

export interface DataTableProps<R, C> {
  columns: ReadonlyArray<Column<R, C>>;
  rows: readonly R[];
  rowKey: (row: R) => string | number;
  /** Attributes of a row (`data-*` the tests and styles find it by, a class). */
  rowProps?: (row: R) => Record<string, unknown>;
  /** Rows shown under a row (an expanded detail), spanning the table. */
  detail?: (row: R) => ComponentChildren;
  ctx?: C;
  /** `table` (default) plus `compact` for the dense ones. */
  compact?: boolean;
  testId?: string;
  sort?: SortState;
  onSort?: (key: string) => void;
}

/** The UI's one HTML table. */
export function DataTable<R, C = undefined>(p: DataTableProps<R, C>) {
  const ctx = p.ctx as C;
  return (
    <table class={p.compact ? 'table compact' : 'table'} data-testid={p.testId}>
      <thead>
        <tr>
          {p.columns.map((c) => {
            const h = headerCell(c, p.sort, p.onSort);
            return (
              <th scope="col" key={c.label} class={c.cls} aria-sort={h.ariaSort}>
                {h.content}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => {
          const detail = p.detail?.(r);
          return (
            <Fragment key={p.rowKey(r)}>
              <tr {...p.rowProps?.(r)}>
                {p.columns.map((c) => (
                  <td key={c.label} class={classes(c.cellClass, c.cls)} {...c.cellProps?.(r, ctx)}>
                    {c.cell(r, ctx)}
                  </td>
                ))}
              </tr>
              {detail ? (
                <tr>
                  <td colSpan={p.columns.length}>{detail}</td>
                </tr>
              ) : null}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}

/** The header row of a `VirtualList` grid, from its columns. */
export function GridHeader<R, C>({ columns, sort, onSort }: { columns: ReadonlyArray<Column<R, C>>; sort?: SortState; onSort?: (key: string) => void }) {
  return (
    <div class="vhead" role="row">
      {columns.map((c) => {
        const h = headerCell(c, sort, onSort);
        return (
          <div role="columnheader" class={classes('cell', c.cls)} key={c.label} aria-sort={h.ariaSort}>
            {h.content}
          </div>
        );
      })}
    </div>
  );
}

/** The cells of one `VirtualList` row, from the same columns as its header. */
export function GridCells<R, C>({ columns, row, ctx }: { columns: ReadonlyArray<Column<R, C>>; row: R; ctx: C }) {
  return (
    <>
      {columns.map((c) => (
        <div role="gridcell" key={c.label} class={classes('cell', c.cls, c.cellClass)} {...c.cellProps?.(row, ctx)}>
          {c.cell(row, ctx)}
        </div>
      ))}
    </>
  );
}
