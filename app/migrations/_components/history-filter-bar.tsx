'use client';

import { useState, type FormEvent } from 'react';
import {
  MIGRATION_STATES,
  historyFilterToSearchParams,
  type HistoryFilterInput,
  type MigrationState,
} from '@/server/history/filters';
import { Button } from '../../_components/ui';
import {
  FilterField,
  fromLocalInputValue,
  INPUT_CLASSES,
  toLocalInputValue,
} from '../../audit/_components/filter-fields';

type FormState = { from: string; to: string; states: MigrationState[]; host: string; vm: string };

function toFormState(filter: HistoryFilterInput): FormState {
  const validDate = (value: Date | string | undefined) => {
    const date = value === undefined ? undefined : new Date(value);
    return date && !Number.isNaN(date.getTime()) ? date : undefined;
  };
  return {
    from: toLocalInputValue(validDate(filter.from)),
    to: toLocalInputValue(validDate(filter.to)),
    states: filter.states ?? [],
    host: filter.host ?? '',
    vm: filter.vm ?? '',
  };
}

/** Same contract as the audit filter bar: applying navigates, the URL is the state. */
export function HistoryFilterBar({
  initial,
  onApply,
}: {
  initial: HistoryFilterInput;
  onApply: (params: URLSearchParams) => void;
}) {
  const [form, setForm] = useState<FormState>(() => toFormState(initial));
  const set = (key: 'from' | 'to' | 'host' | 'vm') => (event: { target: { value: string } }) =>
    setForm((current) => ({ ...current, [key]: event.target.value }));
  const toggleState = (state: MigrationState) =>
    setForm((current) => ({
      ...current,
      states: current.states.includes(state) ? current.states.filter((s) => s !== state) : [...current.states, state],
    }));

  function submit(event: FormEvent) {
    event.preventDefault();
    onApply(
      historyFilterToSearchParams({
        from: fromLocalInputValue(form.from),
        to: fromLocalInputValue(form.to),
        states: form.states,
        host: form.host,
        vm: form.vm,
      }),
    );
  }

  return (
    <form
      onSubmit={submit}
      aria-label="Migration filters"
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
    >
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <FilterField label="From" htmlFor="history-from">
          <input
            id="history-from"
            type="datetime-local"
            value={form.from}
            onChange={set('from')}
            className={INPUT_CLASSES}
          />
        </FilterField>
        <FilterField label="To" htmlFor="history-to">
          <input id="history-to" type="datetime-local" value={form.to} onChange={set('to')} className={INPUT_CLASSES} />
        </FilterField>
        <FilterField label="Host (source or destination)" htmlFor="history-host">
          <input
            id="history-host"
            value={form.host}
            onChange={set('host')}
            placeholder="host alias, e.g. hv3"
            className={INPUT_CLASSES}
          />
        </FilterField>
        <FilterField label="VM" htmlFor="history-vm">
          <input id="history-vm" value={form.vm} onChange={set('vm')} placeholder="VM name" className={INPUT_CLASSES} />
        </FilterField>
      </div>
      <fieldset>
        <legend className="mb-1 text-xs font-medium text-slate-600">States (none ticked: all)</legend>
        <div className="flex flex-wrap gap-x-4 gap-y-1">
          {MIGRATION_STATES.map((state) => (
            <label key={state} className="inline-flex items-center gap-1.5 text-sm text-slate-700">
              <input type="checkbox" checked={form.states.includes(state)} onChange={() => toggleState(state)} />
              {state}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="flex gap-2">
        <Button type="submit" variant="primary">
          Apply filters
        </Button>
        <Button onClick={() => onApply(new URLSearchParams())}>Clear</Button>
      </div>
    </form>
  );
}
