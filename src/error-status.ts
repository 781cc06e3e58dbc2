/**
 * One table from a request error's code to its HTTP status (Fastify's `lib/errors.js` habit), and
 * Fastify's own body errors mapped onto those codes. server/app.ts answers every 4xx/5xx through
 * `describeRequestError`; a new request error is a code in errors.ts plus a row here.
 */
import type { FastifyError } from 'fastify';
import { AdmissionError, type AdmissionErrorCode } from './errors.js';

export type RequestErrorCode = AdmissionErrorCode | 'NOT_FOUND' | 'INTERNAL_ERROR';

export const REQUEST_ERROR_STATUS: Readonly<Record<RequestErrorCode, number>> = {
  BODY_NOT_JSON: 400,
  BODY_TOO_LARGE: 413,
  NOT_ADMISSION_REVIEW: 400,
  UNSUPPORTED_API_VERSION: 400,
  MISSING_UID: 400,
  NO_POD_SPEC: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  INTERNAL_ERROR: 500,
};

/** Fastify's errors for bad bodies, by its code: ours, and the message people read. */
const FASTIFY_BODY_ERRORS: Readonly<
  Record<string, { code: AdmissionErrorCode; message: (err: FastifyError, bodyLimit: number) => string }>
> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'BODY_TOO_LARGE',
    message: (_err, bodyLimit) => `request body is larger than the limit of ${bodyLimit} bytes`,
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: () => 'Content-Type must be application/json',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'BODY_NOT_JSON',
    message: () => 'request body is empty: expected an AdmissionReview',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'BODY_NOT_JSON',
    message: (err) => `request body is not valid JSON: ${err.message}`,
  },
};

export interface RequestErrorAnswer {
  status: number;
  code: string;
  message: string;
}

/** What the server answers for an error a request caused (or a bug: 500 INTERNAL_ERROR). */
export function describeRequestError(err: FastifyError, bodyLimit: number): RequestErrorAnswer {
  if (err instanceof AdmissionError) {
    return { status: REQUEST_ERROR_STATUS[err.code], code: err.code, message: err.message };
  }
  const known = err.code !== undefined ? FASTIFY_BODY_ERRORS[err.code] : undefined;
  if (known !== undefined) {
    return {
      status: REQUEST_ERROR_STATUS[known.code],
      code: known.code,
      message: known.message(err, bodyLimit),
    };
  }
  if (err instanceof SyntaxError || err.statusCode === 400) {
    return { status: 400, code: 'BODY_NOT_JSON', message: `request body is not valid JSON: ${err.message}` };
  }
  const status =
    err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  return {
    status,
    code: status === 500 ? 'INTERNAL_ERROR' : (err.code ?? 'BAD_REQUEST'),
    message: err.message,
  };
}
