"""The project's tests, a regular package: a namespace package would lose to any installed top-level ``tests``
package (Hershey-Fonts installs one), so ``tests.factories`` would not import in the live processes."""
