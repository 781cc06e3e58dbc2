import type { FastifyError } from 'fastify';
import { describe, expect, it } from 'vitest';
import { describeRequestError, REQUEST_ERROR_STATUS } from '../../../src/error-status.js';
import { AdmissionError } from '../../../src/errors.js';

function fastifyError(code: string | undefined, message: string, statusCode?: number): FastifyError {
  return Object.assign(new Error(message), {
    code,
    ...(statusCode !== undefined ? { statusCode } : {}),
  }) as FastifyError;
}

describe('describeRequestError', () => {
  it('answers an AdmissionError with its code and the status the table gives it', () => {
    expect(describeRequestError(new AdmissionError('MISSING_UID', 'request.uid is missing'), 1024)).toEqual({
      status: 400,
      code: 'MISSING_UID',
      message: 'request.uid is missing',
    });
  });

  it.each([
    [
      'FST_ERR_CTP_BODY_TOO_LARGE',
      413,
      'BODY_TOO_LARGE',
      'request body is larger than the limit of 1024 bytes',
    ],
    [
      'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'Content-Type must be application/json',
    ],
    [
      'FST_ERR_CTP_EMPTY_JSON_BODY',
      400,
      'BODY_NOT_JSON',
      'request body is empty: expected an AdmissionReview',
    ],
    [
      'FST_ERR_CTP_INVALID_JSON_BODY',
      400,
      'BODY_NOT_JSON',
      'request body is not valid JSON: Unexpected token',
    ],
  ])('maps Fastify’s %s to %i %s', (fst, status, code, message) => {
    expect(describeRequestError(fastifyError(fst, 'Unexpected token'), 1024)).toEqual({
      status,
      code,
      message,
    });
  });

  it('keeps another 4xx as it is and turns anything else into 500 INTERNAL_ERROR', () => {
    expect(describeRequestError(fastifyError('FST_ERR_X', 'no', 405), 1024)).toEqual({
      status: 405,
      code: 'FST_ERR_X',
      message: 'no',
    });
    expect(describeRequestError(fastifyError(undefined, 'boom'), 1024)).toMatchObject({
      status: REQUEST_ERROR_STATUS.INTERNAL_ERROR,
      code: 'INTERNAL_ERROR',
    });
  });
});
