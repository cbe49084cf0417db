// Copyright ⓒ 2024-2025 Peter Morgan <peter.james.morgan@gmail.com>
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//! SlateDB storage engine implementation
//!
//! This module provides a storage engine implementation using SlateDB,
//! a key-value store built on object storage.
//!
//! # Module Structure
//!
//! - `types`: Data structures and type definitions
//! - `engine`: Engine struct and builder pattern
//! - `storage`: Storage trait implementation
//! - `tests`: Unit tests (test-only)

mod engine;
mod storage;
mod types;

#[cfg(test)]
mod tests;

// Re-export types for public use
pub use engine::Engine;
