'use client';

import { MIGRATION_STATES, type HistoryFilterInput, type MigrationState } from '@/server/history/filters';
import {
  CheckboxGroup,
  FilterForm,
  FilterInput,
  useFilterForm,
  type FilterBarProps,
} from '../../_components/list/filter-form';

export function HistoryFilterBar({ initial, onApply }: FilterBarProps<HistoryFilterInput>) {
  const { bind, choose, formProps } = useFilterForm({
    initial,
    onApply,
    fields: () => ({ states: (initial.states ?? []) as string[], host: initial.host ?? '', vm: initial.vm ?? '' }),
    toFilter: (values) => ({ ...values, states: values.states as MigrationState[] }),
  });

  return (
    <FilterForm
      label="Migration filters"
      idPrefix="history"
      {...formProps}
      fields={
        <>
          <FilterInput
            id="history-host"
            label="Host (source or destination)"
            placeholder="host alias, e.g. hv3"
            {...bind('host')}
          />
          <FilterInput id="history-vm" label="VM" placeholder="VM name" {...bind('vm')} />
        </>
      }
    >
      <CheckboxGroup legend="States (none ticked: all)" choices={MIGRATION_STATES} {...choose('states')} />
    </FilterForm>
  );
}
