import { I18nString } from '@app/portal-contracts';
import { SimResourceType } from './sim-model';

/** Resource types of the generated profiles; asset i of a test-profile OU has type RESOURCE_TYPES[i % 5]. */
export const RESOURCE_TYPES: readonly (SimResourceType & { label: { en: string; zh: string; ja: string; prefix: string } })[] = [
  {
    code: 'inverter',
    typeName: { default: 'Inverter', en_US: 'Inverter', zh_CN: '逆变器', ja_JP: 'インバータ' },
    label: { en: 'Inverter', zh: '逆变器', ja: 'インバータ', prefix: 'INV' },
  },
  {
    code: 'wind_turbine',
    typeName: { default: 'Wind Turbine', en_US: 'Wind Turbine', zh_CN: '风机', ja_JP: '風力タービン' },
    label: { en: 'Wind Turbine', zh: '风机', ja: '風力タービン', prefix: 'WTG' },
  },
  {
    code: 'meter',
    typeName: { default: 'Meter', en_US: 'Meter', zh_CN: '电表', ja_JP: '' },
    label: { en: 'Meter', zh: '电表', ja: 'メーター', prefix: 'MTR' },
  },
  {
    code: 'auth_unit',
    typeName: { default: 'Physical Resource', en_US: 'Physical Resource', zh_CN: '' },
    label: { en: 'Auth Unit', zh: '授权单元', ja: '認可ユニット', prefix: 'AU' },
  },
  {
    code: 'site',
    typeName: { default: 'Site', en_US: 'Site', zh_CN: '场站', ja_JP: 'サイト' },
    label: { en: 'Site', zh: '场站', ja: 'サイト', prefix: 'SITE' },
  },
];

export const ORG_NAMES: readonly I18nString[] = [
  { default: 'Contoso Renewables', en_US: 'Contoso Renewables', zh_CN: '康拓新能源' },
  { default: 'Fabrikam Power', en_US: 'Fabrikam Power', zh_CN: '法布里坎电力', ja_JP: 'ファブリカム電力' },
  { default: 'Northwind Energy', en_US: 'Northwind Energy', zh_CN: '' },
  { default: 'Tailspin Grid', en_US: 'Tailspin Grid' },
];

export const REGIONS: readonly I18nString[] = [
  { default: 'East China', en_US: 'East China', zh_CN: '华东', ja_JP: '華東' },
  { default: 'North China', en_US: 'North China', zh_CN: '华北', ja_JP: '華北' },
  { default: 'South China', en_US: 'South China', zh_CN: '华南' },
  { default: 'Northwest', en_US: 'Northwest', zh_CN: '西北', ja_JP: '' },
  { default: 'Europe', en_US: 'Europe', zh_CN: '欧洲', ja_JP: 'ヨーロッパ' },
  { default: 'APAC', en_US: 'APAC', zh_CN: '亚太' },
  { default: 'Americas', en_US: 'Americas', zh_CN: '美洲', ja_JP: 'アメリカ' },
  { default: 'Middle East', en_US: 'Middle East', zh_CN: '中东' },
];

export const SITE_WORDS: readonly { en: string; zh: string }[] = [
  { en: 'Dongying', zh: '东营' },
  { en: 'Zhangbei', zh: '张北' },
  { en: 'Yancheng', zh: '盐城' },
  { en: 'Hami', zh: '哈密' },
  { en: 'Rudong', zh: '如东' },
  { en: 'Baotou', zh: '包头' },
  { en: 'Golmud', zh: '格尔木' },
  { en: 'Jiuquan', zh: '酒泉' },
  { en: 'Hornsea', zh: '霍恩西' },
  { en: 'Aarhus', zh: '奥胡斯' },
  { en: 'Texel', zh: '特塞尔' },
  { en: 'Mildura', zh: '米尔杜拉' },
];

export const SITE_KINDS: readonly { en: string; zh: string }[] = [
  { en: 'Solar Farm', zh: '光伏电站' },
  { en: 'Wind Farm', zh: '风电场' },
  { en: 'Storage Station', zh: '储能站' },
  { en: 'Substation', zh: '变电站' },
];
