/** SBOM licenses: Debian copyright files (machine-readable and free-form) and npm package metadata. */
import { describe, expect, it } from 'vitest';
import { debianLicense, npmLicense } from '../../../scripts/image/licenses.js';

const DEP5 = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: openssl

Files: *
Copyright: 1998-2024 The OpenSSL Project
License: Apache-2.0

Files: debian/*
Copyright: 2003 Someone
License: Artistic or GPL-1+

Files: zoneinfo/*
License: public-domain

License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
`;

describe('debianLicense', () => {
  describe('for a machine-readable copyright file', () => {
    it("maps each Files paragraph's License to SPDX, ORs alternatives, ANDs the rest and refs unknown names", () => {
      const l = debianLicense('libssl3', DEP5);
      expect(l.expression).toBe(
        '(Artistic-1.0-Perl OR GPL-1.0-or-later) AND Apache-2.0 AND LicenseRef-debian-public-domain',
      );
      expect(l.extracted).toEqual([
        {
          licenseId: 'LicenseRef-debian-public-domain',
          name: 'public-domain',
          extractedText: 'Debian license short name "public-domain": see /usr/share/doc/libssl3/copyright',
        },
      ]);
    });
  });

  describe('for a free-form copyright file', () => {
    it('reads the license its text states (gcc runtime, glibc, GPL-2+), else NOASSERTION', () => {
      expect(debianLicense('libgcc-s1', 'GCC is ... GCC RUNTIME LIBRARY EXCEPTION ...').expression).toBe(
        'GPL-3.0-or-later WITH GCC-exception-3.1',
      );
      expect(
        debianLicense(
          'libc6',
          'under the terms of the GNU Lesser General Public\nLicense as published; either\nversion 2.1 of the License',
        ).expression,
      ).toBe('LGPL-2.1-or-later');
      expect(debianLicense('x', 'All rights reserved.').expression).toBe('NOASSERTION');
      expect(debianLicense('x', undefined).expression).toBe('NOASSERTION');
    });
  });
});

describe('npmLicense', () => {
  it('keeps SPDX expressions and refuses what is not one', () => {
    expect(npmLicense('MIT')).toBe('MIT');
    expect(npmLicense('(MIT OR Apache-2.0)')).toBe('(MIT OR Apache-2.0)');
    expect(npmLicense('SEE LICENSE IN LICENSE.md')).toBe('NOASSERTION');
    expect(npmLicense({ type: 'MIT' })).toBe('NOASSERTION');
    expect(npmLicense(undefined)).toBe('NOASSERTION');
  });
});
