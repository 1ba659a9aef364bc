'use client';

import { AUDIT_RESULTS, KNOWN_AUDIT_ACTIONS, type AuditFilterInput } from '@/server/audit/filters';
import {
  CheckboxGroup,
  FilterField,
  FilterForm,
  FilterInput,
  INPUT_CLASSES,
  useFilterForm,
  type FilterBarProps,
} from '../../_components/list/filter-form';

export function AuditFilterBar({ initial, onApply }: FilterBarProps<AuditFilterInput>) {
  const { form, bind, choose, formProps } = useFilterForm({
    initial,
    onApply,
    fields: () => ({
      actor: initial.actor ?? '',
      actions: initial.actions ?? [],
      host: initial.host ?? '',
      vm: initial.vm ?? '',
      result: initial.result ?? '',
      q: initial.q ?? '',
    }),
    toFilter: (values) => ({ ...values, result: values.result as AuditFilterInput['result'] }),
  });
  // Actions in the URL that Ferry does not list yet stay selectable instead of vanishing.
  const actionChoices = [
    ...KNOWN_AUDIT_ACTIONS,
    ...form.actions.filter((action) => !(KNOWN_AUDIT_ACTIONS as readonly string[]).includes(action)),
  ];

  return (
    <FilterForm
      label="Audit filters"
      idPrefix="audit"
      {...formProps}
      fields={
        <>
          <FilterInput id="audit-actor" label="Actor" placeholder="e.g. admin" {...bind('actor')} />
          <FilterField label="Result" htmlFor="audit-result">
            <select id="audit-result" {...bind('result')} className={INPUT_CLASSES}>
              <option value="">any</option>
              {AUDIT_RESULTS.map((result) => (
                <option key={result} value={result}>
                  {result}
                </option>
              ))}
            </select>
          </FilterField>
          <FilterInput id="audit-host" label="Host" placeholder="host alias, e.g. hv3" {...bind('host')} />
          <FilterInput id="audit-vm" label="VM" placeholder="VM name, e.g. vm-42" {...bind('vm')} />
          <FilterInput
            id="audit-q"
            label="Search details"
            type="search"
            className="lg:col-span-2"
            placeholder="words in details, e.g. permission denied"
            {...bind('q')}
          />
        </>
      }
    >
      <CheckboxGroup
        legend="Actions (none ticked: all)"
        choices={actionChoices}
        {...choose('actions')}
        className="font-mono text-xs"
      />
    </FilterForm>
  );
}
