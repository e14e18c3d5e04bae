export type Theme = 'light' | 'dark';

const KEY = 'ssse-theme';

function initial(): Theme {
  const saved = typeof localStorage === 'undefined' ? null : localStorage.getItem(KEY);
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
    localStorage.setItem(KEY, theme);
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
