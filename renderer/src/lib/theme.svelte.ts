export type Theme = 'light' | 'dark';

const KEY = 'ssse-theme';

/** The saved theme; null where there is no storage (the report's print page is a document without an origin). */
function savedTheme(): string | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

function initial(): Theme {
  const saved = savedTheme();
  if (saved === 'light' || saved === 'dark') return saved;
  return typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

class ThemeStore {
  theme = $state<Theme>(initial());

  constructor() {
    this.apply();
  }

  set(theme: Theme): void {
    this.theme = theme;
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      // no storage here: the choice lasts for this page
    }
    this.apply();
  }

  toggle(): void {
    this.set(this.theme === 'dark' ? 'light' : 'dark');
  }

  private apply(): void {
    if (typeof document !== 'undefined') document.documentElement.dataset['theme'] = this.theme;
  }
}

export const theme = new ThemeStore();

/** The three models' colours, as CSS variables so that they follow the theme. */
export const MODEL_COLORS: Record<string, string> = {
  original: 'var(--series-original)',
  erased: 'var(--series-erased)',
  retrained: 'var(--series-retrained)',
};
