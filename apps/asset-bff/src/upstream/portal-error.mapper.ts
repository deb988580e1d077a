import { PortalError, PortalErrorKind } from '@app/portal-client';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';

/** Which kind of call failed: the same upstream code means different things to the caller (API.md section 3). */
export type UpstreamContext = 'user' | 'batch' | 'tree';

const DEFAULT_RETRY_AFTER_S = 5;

/** The caller-facing exception for any error of a portal call, mapped in one exhaustive switch. */
export function mapUpstreamError(err: unknown, context: UpstreamContext): AppException {
  if (err instanceof AppException) return err;
  if (!(err instanceof PortalError)) return new AppException(ErrorCode.Internal);
  const upstream = err.upstreamCode !== undefined ? { code: err.upstreamCode, message: err.upstreamMessage ?? '' } : undefined;
  const withUpstream = upstream ? { upstream } : {};
  switch (err.kind) {
    case PortalErrorKind.NotFound:
      if (context === 'tree') return new AppException(ErrorCode.NotFound, 'The application does not exist or the OU has not obtained it', withUpstream);
      return context === 'user'
        ? new AppException(ErrorCode.UserNotFound, 'The user is not found in this OU', withUpstream)
        : new AppException(ErrorCode.OrgNotFound, 'The OU is not found', withUpstream);
    case PortalErrorKind.TokenInvalid:
      // Only the tree carries the caller's token; elsewhere the portal refused the service's own credentials, which the
      // caller can neither fix nor should read as a 401 about its key.
      return context === 'tree'
        ? new AppException(ErrorCode.Unauthenticated, 'The portal rejected the user token', withUpstream)
        : new AppException(
            ErrorCode.UpstreamRejected,
            'The portal answered 31401 (invalid token) to a call made with the application credentials',
            withUpstream,
          );
    case PortalErrorKind.PermissionMissing:
      return context === 'tree'
        ? new AppException(ErrorCode.Forbidden, 'The user has no access to this application', withUpstream)
        : new AppException(ErrorCode.UpstreamPermissionMissing, 'The application has not been granted "Obtain all user permissions in the OU"', withUpstream);
    case PortalErrorKind.OuNotSelected:
      return new AppException(ErrorCode.OuNotSelected, 'The user has to choose an OU first', withUpstream);
    case PortalErrorKind.BadRequest:
      return new AppException(ErrorCode.UpstreamRejected, 'The portal rejected the parameters', withUpstream);
    case PortalErrorKind.Timeout:
      return new AppException(ErrorCode.UpstreamTimeout, 'The portal did not answer in time');
    case PortalErrorKind.Unavailable:
      return new AppException(ErrorCode.UpstreamUnavailable, 'The portal is unavailable; retry later', {
        ...withUpstream,
        retryAfterS: err.retryAfterS ?? DEFAULT_RETRY_AFTER_S,
      });
    case PortalErrorKind.BadResponse:
      return new AppException(ErrorCode.UpstreamBadResponse, 'The portal answered something unreadable');
  }
}

/** True when the portal said "not found" (cached as a negative entry). */
export const isNotFound = (err: unknown): boolean => err instanceof PortalError && err.kind === PortalErrorKind.NotFound;
