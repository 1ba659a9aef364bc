'use client';

import { useState, type FormEvent, type ReactNode } from 'react';
import { Button } from '../ui';

/**
 * The filter bar of a list page (audit log, migration history). The filter lives in the URL: applying it
 * navigates, so Back works and a copied link reproduces the view. The page remounts the bar when the URL
 * changes, so it always starts from what the URL says.
 */

export const INPUT_CLASSES =
  'block w-full rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-indigo-500';

/** `<input type="datetime-local">` speaks local wall time without a zone; the URL keeps UTC ISO. */
export function toLocalInputValue(value: Date | string | undefined): string {
  const date = value === undefined ? undefined : new Date(value);
  if (!date || Number.isNaN(date.getTime())) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export function fromLocalInputValue(value: string): string | undefined {
  if (value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** What a list page gives its filter bar: the filter the URL holds, and where to send the applied one. */
export type FilterBarProps<Input> = { initial: Input; onApply: (filter: Input) => void };

type DateRangeInput = { from?: Date | string; to?: Date | string };
type InputEvent = { target: { value: string } };
type DateInputProps = { value: string; onChange: (event: InputEvent) => void };

/**
 * A filter form's state: the time range (local wall time in the form, UTC ISO in the filter), the other text
 * fields as strings and the multi-choice fields as string lists. `bind` and `choose` wire an input or a
 * checkbox group to a field.
 */
export function useFilterForm<Form extends Record<string, string | string[]>, Input extends DateRangeInput>(options: {
  initial: Input;
  fields: () => Form;
  /** The applied filter, from the form's values (the time range already converted). */
  toFilter: (values: Form & { from?: string; to?: string }) => Input;
  onApply: (filter: Input) => void;
}) {
  const { initial } = options;
  const [form, setForm] = useState(() => ({
    ...options.fields(),
    from: toLocalInputValue(initial.from),
    to: toLocalInputValue(initial.to),
  }));
  const setText = (key: string) => (event: InputEvent) =>
    setForm((current) => ({ ...current, [key]: event.target.value }));
  const bind = (key: { [K in keyof Form]: Form[K] extends string ? K : never }[keyof Form]) => ({
    value: form[key] as string,
    onChange: setText(key as string),
  });
  const choose = (key: { [K in keyof Form]: Form[K] extends string[] ? K : never }[keyof Form]) => ({
    selected: form[key] as string[],
    onToggle: (choice: string) =>
      setForm((current) => {
        const selected = current[key] as string[];
        const next = selected.includes(choice) ? selected.filter((c) => c !== choice) : [...selected, choice];
        return { ...current, [key]: next };
      }),
  });
  const value = () => ({ ...form, from: fromLocalInputValue(form.from), to: fromLocalInputValue(form.to) });
  const dates = {
    from: { value: form.from, onChange: setText('from') },
    to: { value: form.to, onChange: setText('to') },
  };
  /** Spread into FilterForm: the time range inputs, Apply and Clear. */
  const formProps = {
    dates,
    onSubmit: () => options.onApply(options.toFilter(value())),
    onClear: () => options.onApply({} as Input),
  };
  return { form, bind, choose, formProps };
}

export function FilterForm({
  label,
  idPrefix,
  dates,
  onSubmit,
  onClear,
  fields,
  children,
}: {
  /** The form's accessible name: "Audit filters". */
  label: string;
  /** Prefix of the inputs' ids: `audit` gives `audit-from`, `audit-to`. */
  idPrefix: string;
  dates: { from: DateInputProps; to: DateInputProps };
  onSubmit: () => void;
  onClear: () => void;
  /** The input fields after From and To, laid out in a grid. */
  fields: ReactNode;
  /** Below the grid: the checkbox groups. */
  children?: ReactNode;
}) {
  function submit(event: FormEvent) {
    event.preventDefault();
    onSubmit();
  }
  return (
    <form
      onSubmit={submit}
      aria-label={label}
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
    >
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <FilterInput id={`${idPrefix}-from`} label="From" type="datetime-local" {...dates.from} />
        <FilterInput id={`${idPrefix}-to`} label="To" type="datetime-local" {...dates.to} />
        {fields}
      </div>
      {children}
      <div className="flex gap-2">
        <Button type="submit" variant="primary">
          Apply filters
        </Button>
        <Button onClick={onClear}>Clear</Button>
      </div>
    </form>
  );
}

export function FilterField({
  label,
  htmlFor,
  children,
  className = '',
}: {
  label: string;
  htmlFor: string;
  children: ReactNode;
  className?: string;
}) {
  return (
    <div className={`space-y-1 ${className}`}>
      <label htmlFor={htmlFor} className="block text-xs font-medium text-slate-600">
        {label}
      </label>
      {children}
    </div>
  );
}

/** A labelled text input (or `type="search"`, `type="datetime-local"`) of a filter form. */
export function FilterInput({
  id,
  label,
  className,
  ...input
}: {
  id: string;
  label: string;
  className?: string;
  value: string;
  onChange: (event: InputEvent) => void;
  placeholder?: string;
  type?: 'text' | 'search' | 'datetime-local';
}) {
  return (
    <FilterField label={label} htmlFor={id} className={className}>
      <input id={id} {...input} className={INPUT_CLASSES} />
    </FilterField>
  );
}

export function CheckboxGroup({
  legend,
  choices,
  selected,
  onToggle,
  className = 'text-sm',
}: {
  legend: string;
  choices: readonly string[];
  selected: readonly string[];
  onToggle: (choice: string) => void;
  /** Text style of the choices (`font-mono text-xs` for action names). */
  className?: string;
}) {
  return (
    <fieldset>
      <legend className="mb-1 text-xs font-medium text-slate-600">{legend}</legend>
      <div className="flex flex-wrap gap-x-4 gap-y-1">
        {choices.map((choice) => (
          <label key={choice} className={`inline-flex items-center gap-1.5 text-slate-700 ${className}`}>
            <input type="checkbox" checked={selected.includes(choice)} onChange={() => onToggle(choice)} />
            {choice}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
