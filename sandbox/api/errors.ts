/**
 * LINE-shaped error responses: `{"message": "...", "details": [{"message", "property"}]}`.
 * Messages are LINE's English wording where LINE documents it.
 */
import type { LineErrorDetail } from '../openapi.ts';

export class LineApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { message: string; details?: LineErrorDetail[]; sentMessages?: unknown[] },
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

export function invalidRequestBody(details: LineErrorDetail[]): LineApiError {
  return new LineApiError(400, { message: `The request body has ${details.length} error(s)`, details });
}

export function invalidQuery(details: LineErrorDetail[]): LineApiError {
  // LINE reports query parameter problems with the same shape, naming the parameter.
  return new LineApiError(400, { message: `The request has ${details.length} error(s)`, details });
}

export function invalidProperty(property: string): LineApiError {
  return new LineApiError(400, {
    message: `The property, '${property}', in the request body is invalid (line: -, column: -)`,
  });
}

export function unparsableJson(line: number, column: number): LineApiError {
  return new LineApiError(400, {
    message: `The request body could not be parsed as JSON (line: ${line}, column: ${column})`,
  });
}

export function unsupportedContentType(contentType: string): LineApiError {
  return new LineApiError(415, { message: `The content type, ${contentType}, is not supported` });
}

export function missingAuthorization(): LineApiError {
  return new LineApiError(401, {
    message: "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'",
  });
}

export function invalidAccessToken(): LineApiError {
  return new LineApiError(401, {
    message: 'Authentication failed. Confirm that the access token in the authorization header is valid.',
  });
}

export function notFound(): LineApiError {
  return new LineApiError(404, { message: 'Not found' });
}

export function rateLimited(): LineApiError {
  return new LineApiError(429, { message: 'The API rate limit has been exceeded. Try again later.' });
}

export function payloadTooLarge(): LineApiError {
  return new LineApiError(413, { message: 'Request Entity Too Large' });
}

export function retryKeyNotSupported(): LineApiError {
  return new LineApiError(400, { message: 'X-Line-Retry-Key header is not supported for this API' });
}

export function invalidRetryKey(): LineApiError {
  return new LineApiError(400, {
    message: 'The value of the X-Line-Retry-Key header is invalid. It must be a UUID in hexadecimal format',
  });
}

export function retryKeyAccepted(acceptedRequestId: string, sentMessages?: unknown[]): LineApiError {
  return new LineApiError(
    409,
    { message: 'The retry key is already accepted', ...(sentMessages ? { sentMessages } : {}) },
    { 'x-line-accepted-request-id': acceptedRequestId },
  );
}

export function invalidReplyToken(): LineApiError {
  return new LineApiError(400, { message: 'Invalid reply token' });
}

export function internalError(status = 500): LineApiError {
  return new LineApiError(status, { message: 'Internal server error' });
}

export function notImplemented(operationId: string): LineApiError {
  return new LineApiError(501, { message: `The sandbox does not implement ${operationId}` });
}
