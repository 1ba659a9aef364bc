/**
 * Just enough XML reading for the libvirt documents Ferry inspects (domain, pool, capabilities): elements
 * with attributes and text, no DTDs, no namespaces beyond keeping the prefix. libvirt writes well-formed,
 * predictable XML; anything this does not understand throws rather than guessing.
 */
export type XmlElement = {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
};

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeXmlEntities(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (match, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? match;
  });
}

const ATTRIBUTE = /([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  let index = 0;
  while (index < text.length) {
    const open = text.indexOf('<', index);
    const current = stack[stack.length - 1] as XmlElement;
    if (open === -1) {
      current.text += decodeXmlEntities(text.slice(index));
      break;
    }
    if (open > index) current.text += decodeXmlEntities(text.slice(index, open));
    if (text.startsWith('<!--', open)) {
      const end = text.indexOf('-->', open);
      if (end === -1) throw new Error('XML: unterminated comment');
      index = end + 3;
      continue;
    }
    if (text.startsWith('<?', open) || text.startsWith('<!', open)) {
      const end = text.indexOf('>', open);
      if (end === -1) throw new Error('XML: unterminated declaration');
      index = end + 1;
      continue;
    }
    const close = text.indexOf('>', open);
    if (close === -1) throw new Error('XML: unterminated tag');
    const tag = text.slice(open + 1, close);
    index = close + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (current.name !== name) throw new Error(`XML: </${name}> closes <${current.name}>`);
      stack.pop();
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const nameMatch = /^([A-Za-z_:][-A-Za-z0-9_:.]*)/.exec(body);
    if (!nameMatch) throw new Error(`XML: bad tag <${tag}>`);
    const element: XmlElement = { name: nameMatch[1] as string, attributes: {}, children: [], text: '' };
    for (const match of body.slice(nameMatch[0].length).matchAll(ATTRIBUTE)) {
      element.attributes[match[1] as string] = decodeXmlEntities(match[2] ?? match[3] ?? '');
    }
    current.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length !== 1) throw new Error(`XML: <${stack[stack.length - 1]?.name}> is never closed`);
  const [documentElement] = root.children;
  if (!documentElement) throw new Error('XML: empty document');
  return documentElement;
}

export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((candidate) => candidate.name === name);
}

export function children(element: XmlElement | undefined, name: string): XmlElement[] {
  return element?.children.filter((candidate) => candidate.name === name) ?? [];
}

/** Follows a path of element names, e.g. path(domain, 'devices', 'disk'). */
export function path(element: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  return names.reduce<XmlElement | undefined>((current, name) => child(current, name), element);
}

export function textOf(element: XmlElement | undefined): string | undefined {
  return element ? element.text.trim() : undefined;
}
