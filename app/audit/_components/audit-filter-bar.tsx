'use client';

import { useState, type FormEvent } from 'react';
import {
  AUDIT_RESULTS,
  KNOWN_AUDIT_ACTIONS,
  auditFilterToSearchParams,
  type AuditFilterInput,
} from '@/server/audit/filters';
import { Button } from '../../_components/ui';
import { FilterField, fromLocalInputValue, INPUT_CLASSES, toLocalInputValue } from './filter-fields';

type FormState = {
  from: string;
  to: string;
  actor: string;
  actions: string[];
  host: string;
  vm: string;
  result: string;
  q: string;
};

function toFormState(filter: AuditFilterInput): FormState {
  const asDate = (value: Date | string | undefined) => (value === undefined ? undefined : new Date(value));
  const validDate = (value: Date | string | undefined) => {
    const date = asDate(value);
    return date && !Number.isNaN(date.getTime()) ? date : undefined;
  };
  return {
    from: toLocalInputValue(validDate(filter.from)),
    to: toLocalInputValue(validDate(filter.to)),
    actor: filter.actor ?? '',
    actions: filter.actions ?? [],
    host: filter.host ?? '',
    vm: filter.vm ?? '',
    result: filter.result ?? '',
    q: filter.q ?? '',
  };
}

/**
 * The filter lives in the URL: applying it navigates, so Back works and a copied link reproduces the view.
 * The parent remounts this form when the URL changes, so it always starts from what the URL says.
 */
export function AuditFilterBar({
  initial,
  onApply,
}: {
  initial: AuditFilterInput;
  onApply: (params: URLSearchParams) => void;
}) {
  const [form, setForm] = useState<FormState>(() => toFormState(initial));
  const set = (key: keyof FormState) => (event: { target: { value: string } }) =>
    setForm((current) => ({ ...current, [key]: event.target.value }));
  const toggleAction = (action: string) =>
    setForm((current) => ({
      ...current,
      actions: current.actions.includes(action)
        ? current.actions.filter((a) => a !== action)
        : [...current.actions, action],
    }));
  // Actions in the URL that Ferry does not list yet stay selectable instead of vanishing.
  const actionChoices = [
    ...KNOWN_AUDIT_ACTIONS,
    ...form.actions.filter((action) => !(KNOWN_AUDIT_ACTIONS as readonly string[]).includes(action)),
  ];

  function submit(event: FormEvent) {
    event.preventDefault();
    onApply(
      auditFilterToSearchParams({
        from: fromLocalInputValue(form.from),
        to: fromLocalInputValue(form.to),
        actor: form.actor,
        actions: form.actions,
        host: form.host,
        vm: form.vm,
        result: form.result as AuditFilterInput['result'],
        q: form.q,
      }),
    );
  }

  return (
    <form
      onSubmit={submit}
      aria-label="Audit filters"
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
    >
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <FilterField label="From" htmlFor="audit-from">
          <input
            id="audit-from"
            type="datetime-local"
            value={form.from}
            onChange={set('from')}
            className={INPUT_CLASSES}
          />
        </FilterField>
        <FilterField label="To" htmlFor="audit-to">
          <input id="audit-to" type="datetime-local" value={form.to} onChange={set('to')} className={INPUT_CLASSES} />
        </FilterField>
        <FilterField label="Actor" htmlFor="audit-actor">
          <input
            id="audit-actor"
            value={form.actor}
            onChange={set('actor')}
            placeholder="e.g. admin"
            className={INPUT_CLASSES}
          />
        </FilterField>
        <FilterField label="Result" htmlFor="audit-result">
          <select id="audit-result" value={form.result} onChange={set('result')} className={INPUT_CLASSES}>
            <option value="">any</option>
            {AUDIT_RESULTS.map((result) => (
              <option key={result} value={result}>
                {result}
              </option>
            ))}
          </select>
        </FilterField>
        <FilterField label="Host" htmlFor="audit-host">
          <input
            id="audit-host"
            value={form.host}
            onChange={set('host')}
            placeholder="host alias, e.g. hv3"
            className={INPUT_CLASSES}
          />
        </FilterField>
        <FilterField label="VM" htmlFor="audit-vm">
          <input
            id="audit-vm"
            value={form.vm}
            onChange={set('vm')}
            placeholder="VM name, e.g. vm-42"
            className={INPUT_CLASSES}
          />
        </FilterField>
        <FilterField label="Search details" htmlFor="audit-q" className="lg:col-span-2">
          <input
            id="audit-q"
            type="search"
            value={form.q}
            onChange={set('q')}
            placeholder="words in details, e.g. permission denied"
            className={INPUT_CLASSES}
          />
        </FilterField>
      </div>
      <fieldset>
        <legend className="mb-1 text-xs font-medium text-slate-600">Actions (none ticked: all)</legend>
        <div className="flex flex-wrap gap-x-4 gap-y-1">
          {actionChoices.map((action) => (
            <label key={action} className="inline-flex items-center gap-1.5 font-mono text-xs text-slate-700">
              <input type="checkbox" checked={form.actions.includes(action)} onChange={() => toggleAction(action)} />
              {action}
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
