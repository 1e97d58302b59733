import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { resources } from './messages';

export const languageKey = 'oneid.console.language';

export function initialLanguage(stored: string | null): 'zh' | 'en' {
  return stored === 'en' ? 'en' : 'zh';
}

void i18next.use(initReactI18next).init({
  resources,
  lng: initialLanguage(typeof localStorage === 'undefined' ? null : localStorage.getItem(languageKey)),
  fallbackLng: 'zh',
  interpolation: { escapeValue: false },
});

export default i18next;
