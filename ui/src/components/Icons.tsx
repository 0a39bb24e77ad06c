/** Inline SVG as JSX (not innerHTML), so a strict CSP and the sanitiser question never arise. */
export function DeviceIcon({ mobile }: { mobile: boolean }) {
  return (
    <svg class="device-icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.6">
      {mobile ? (
        <>
          <rect x="7" y="2.5" width="10" height="19" rx="2" />
          <path d="M11 18.5h2" />
        </>
      ) : (
        <>
          <rect x="3" y="4" width="18" height="12" rx="1.5" />
          <path d="M8 20h8M12 16v4" />
        </>
      )}
    </svg>
  );
}
