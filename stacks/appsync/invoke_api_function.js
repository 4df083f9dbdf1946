/**
 * Every field's resolver: invoke the api Lambda with the payload a direct Lambda resolver
 * would send, then raise the domain errors it answers with as GraphQL errors of their own
 * errorType. A direct resolver reports every Lambda error as "Lambda:Unhandled", which a
 * mobile app cannot switch on.
 *
 * Contract with services/api/handler.py: a refused request answers
 * {errorType, errorMessage, errorInfo}; anything else is the field's value.
 */
import { util } from '@aws-appsync/utils';

export function request(ctx) {
  return {
    operation: 'Invoke',
    payload: {
      arguments: ctx.arguments,
      identity: ctx.identity,
      source: ctx.source,
      request: ctx.request,
      info: ctx.info,
      prev: ctx.prev,
      stash: ctx.stash,
    },
  };
}

export function response(ctx) {
  if (ctx.error) {
    util.error(ctx.error.message, ctx.error.type);
  }
  const result = ctx.result;
  if (result && result.errorType) {
    util.error(result.errorMessage, result.errorType, null, result.errorInfo);
  }
  return result;
}
