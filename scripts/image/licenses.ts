/**
 * Licenses for the SBOM: npm packages from their package metadata (package-lock.json's `license`,
 * an SPDX expression), Debian packages from their copyright file (`/usr/share/doc/PKG/copyright`):
 * the machine-readable format's `License:` short names mapped to SPDX identifiers, or for the few
 * free-form files the license their text names. Anything else stays NOASSERTION or becomes a
 * `LicenseRef-` with the copyright file's words as its extracted text.
 */

/** Debian short names (copyright-format 1.0) → SPDX identifiers. */
const DEBIAN_TO_SPDX: Record<string, string> = {
  'apache-2.0': 'Apache-2.0',
  artistic: 'Artistic-1.0-Perl',
  'bsd-2-clause': 'BSD-2-Clause',
  'bsd-3-clause': 'BSD-3-Clause',
  expat: 'MIT',
  mit: 'MIT',
  isc: 'ISC',
  zlib: 'Zlib',
  'mpl-2.0': 'MPL-2.0',
  'gpl-1+': 'GPL-1.0-or-later',
  'gpl-2': 'GPL-2.0-only',
  'gpl-2+': 'GPL-2.0-or-later',
  'gpl-3': 'GPL-3.0-only',
  'gpl-3+': 'GPL-3.0-or-later',
  'lgpl-2': 'LGPL-2.0-only',
  'lgpl-2+': 'LGPL-2.0-or-later',
  'lgpl-2.1': 'LGPL-2.1-only',
  'lgpl-2.1+': 'LGPL-2.1-or-later',
  'lgpl-3+': 'LGPL-3.0-or-later',
  'cc0-1.0': 'CC0-1.0',
};

/** Free-form copyright files (glibc, gcc's runtime): the license their text states. */
const FREE_FORM: Array<[RegExp, string]> = [
  [/GCC RUNTIME LIBRARY EXCEPTION/i, 'GPL-3.0-or-later WITH GCC-exception-3.1'],
  [/GNU Lesser General Public\s+License[\s\S]{0,200}version 2\.1/i, 'LGPL-2.1-or-later'],
  [
    /terms of the GNU General Public License[\s\S]{0,120}either version 2 of the License, or\s+\(at your option\) any later version/i,
    'GPL-2.0-or-later',
  ],
];

export interface ExtractedLicense {
  licenseId: string;
  name: string;
  extractedText: string;
}

export interface DebianLicense {
  /** An SPDX license expression, or NOASSERTION. */
  expression: string;
  /** `LicenseRef-…` it uses, for the document's hasExtractedLicensingInfos. */
  extracted: ExtractedLicense[];
}

const ref = (shortName: string): string =>
  `LicenseRef-debian-${shortName.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-|-$/g, '')}`;

/** One `License:` value (`Artistic or GPL-1+`, `GPL-2+`) as an SPDX expression. */
function toSpdxTerm(value: string, pkg: string, extracted: Map<string, ExtractedLicense>): string {
  const alternatives = value.split(/\s+or\s+/i).map((name) => {
    const known = DEBIAN_TO_SPDX[name.trim().toLowerCase()];
    if (known !== undefined) return known;
    const id = ref(name.trim());
    extracted.set(id, {
      licenseId: id,
      name: name.trim(),
      extractedText: `Debian license short name "${name.trim()}": see /usr/share/doc/${pkg}/copyright`,
    });
    return id;
  });
  return alternatives.length > 1 ? `(${alternatives.join(' OR ')})` : alternatives[0]!;
}

/** The license of a Debian package from its copyright file's text. */
export function debianLicense(pkg: string, copyright: string | undefined): DebianLicense {
  if (copyright === undefined) return { expression: 'NOASSERTION', extracted: [] };
  if (!/^Format:\s*\S*copyright-format/m.test(copyright)) {
    const found = FREE_FORM.find(([re]) => re.test(copyright));
    return { expression: found?.[1] ?? 'NOASSERTION', extracted: [] };
  }
  const extracted = new Map<string, ExtractedLicense>();
  const terms = new Set<string>();
  // a License: field in a Files paragraph (a standalone License paragraph only explains a name)
  for (const paragraph of copyright.split(/\n\s*\n/)) {
    if (!/^Files:/m.test(paragraph)) continue;
    const value = /^License:[ \t]*(.+)$/m.exec(paragraph)?.[1]?.trim();
    if (value !== undefined && value !== '') terms.add(toSpdxTerm(value, pkg, extracted));
  }
  if (terms.size === 0) return { expression: 'NOASSERTION', extracted: [] };
  const list = [...terms].sort();
  return {
    expression: list.length === 1 ? list[0]! : list.join(' AND '),
    extracted: [...extracted.values()],
  };
}

/** An npm package's declared license (package metadata): an SPDX expression, else NOASSERTION. */
export function npmLicense(license: unknown): string {
  if (typeof license !== 'string' || license.trim() === '' || /^(UNLICENSED|SEE LICENSE)/i.test(license))
    return 'NOASSERTION';
  return /^[A-Za-z0-9.+\-() ]+$/.test(license) ? license.trim() : 'NOASSERTION';
}
