/**
 * ECR registry host names, in every partition: `<account>.dkr.ecr.<region>.amazonaws.com`, China's
 * `.amazonaws.com.cn`, FIPS `dkr.ecr-fips.`, GovCloud (`us-gov-*` regions), the dual-stack `dkr-ecr`
 * form on `on.aws`, the European Sovereign Cloud and the ISO partitions (as cloud-provider-aws's
 * ecr-credential-provider recognises them). Anything else is not ECR: the next provider's turn.
 */

export interface EcrHost {
  account: string;
  region: string;
  /** `dkr.ecr-fips.`: ask ECR's FIPS endpoint. */
  fips: boolean;
  /** The DNS suffix the host ends with (`amazonaws.com`, `amazonaws.com.cn`, …). */
  suffix: string;
}

const ECR_HOST =
  /^([0-9]{12})\.dkr[.-]ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})\.(amazonaws\.com|amazonaws\.com\.cn|on\.aws|on\.amazonwebservices\.com\.cn|amazonaws\.eu|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;

/** Region prefixes that belong to each non-commercial suffix: a China host names a `cn-` region. */
const SUFFIX_REGIONS: Record<string, RegExp> = {
  'amazonaws.com.cn': /^cn-/,
  'on.amazonwebservices.com.cn': /^cn-/,
  'amazonaws.eu': /^eusc-/,
  'c2s.ic.gov': /^us-iso-/,
  'sc2s.sgov.gov': /^us-isob-/,
  'cloud.adc-e.uk': /^eu-isoe-/,
  'csp.hci.ic.gov': /^us-isof-/,
};

/** The ECR account, region and endpoint flavour of `registry`, or undefined when it is not ECR. */
export function parseEcrHost(registry: string): EcrHost | undefined {
  const m = ECR_HOST.exec(registry.toLowerCase());
  if (m === null) return undefined;
  const [, account, fips, region, suffix] = m as unknown as [
    string,
    string,
    string | undefined,
    string,
    string,
  ];
  const partition = SUFFIX_REGIONS[suffix];
  if (partition !== undefined ? !partition.test(region) : /^(cn|eusc|us-iso[a-z]*|eu-isoe)-/.test(region)) {
    return undefined; // a region of another partition: no such registry
  }
  return { account, region, fips: fips !== undefined, suffix };
}
