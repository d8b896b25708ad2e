//! Unknown routes and wrong methods, as problems.

use axum::http::Method;
use kash_core::ErrorCode;

use crate::http::problem::ApiError;

pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::ResourceNotFound, "no such route")
}

pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on this route; see the Allow header"),
    )
}
