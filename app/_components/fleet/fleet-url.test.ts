import { describe, expect, it } from 'vitest';
import { loadFleetView, serializeFleetView } from './fleet-url';

describe('the fleet view in the URL', () => {
  it('an empty query is the default view: grouped by host, by name ascending, no filter', () => {
    expect(loadFleetView('')).toEqual({
      q: '',
      name: '',
      host: '',
      state: null,
      group: 'host',
      sort: 'name',
      order: 'asc',
    });
  });

  it('reads every field', () => {
    expect(loadFleetView('?q=web+db&name=vm0&host=hv1&state=paused&group=flat&sort=memory&order=desc')).toEqual({
      q: 'web db',
      name: 'vm0',
      host: 'hv1',
      state: 'paused',
      group: 'flat',
      sort: 'memory',
      order: 'desc',
    });
  });

  it('falls back to the default for values it does not know, instead of showing nothing', () => {
    const view = loadFleetView('?state=exploded&group=tree&sort=colour&order=sideways');
    expect(view.state).toBeNull();
    expect(view.group).toBe('host');
    expect(view.sort).toBe('name');
    expect(view.order).toBe('asc');
  });

  it('writes only what differs from the default, and reads back what it wrote', () => {
    expect(serializeFleetView('/', { q: '', group: 'host', sort: 'name', order: 'asc' })).toBe('/');
    const url = serializeFleetView('/', { q: 'it\'s "quoted" & more', state: 'running', group: 'flat', order: 'desc' });
    expect(url).not.toContain('sort=');
    expect(loadFleetView(url.slice(url.indexOf('?')))).toEqual({
      q: 'it\'s "quoted" & more',
      name: '',
      host: '',
      state: 'running',
      group: 'flat',
      sort: 'name',
      order: 'desc',
    });
  });
});
